"""Builds export files, in every server process (spec §9 "Exports").

Started and stopped by the application lifespan, like the webhook dispatcher. Each
round expires files past their TTL, then claims one unfinished job
(``storage/export_claims.py``) and builds it on a worker thread, streaming rows into
a temporary file on disk (bounded memory), then moves that file into
``TALLYBOARD_EXPORT_DIR`` (atomically, by rename) or copies it into the database one
chunk at a time (``storage/export_chunks.py``). While it builds it refreshes its
claim every few seconds; a process that dies mid-build leaves a claim that goes stale
after :data:`LEASE` seconds, and any process resumes the job from scratch on its next
round, so a crashed build is resumed within a minute. A build that lost its claim
meanwhile drops its file. The scratch file a crashed build leaves in the export dir is
deleted by a later round (at the first round, then every :data:`SWEEP_EVERY` seconds)
once no live build can own it (``exports/scratch.py`` says how that is told).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import anyio.to_thread

from tallyboard.access.policy import Policy
from tallyboard.domain.clock import Clock
from tallyboard.domain.exports import ExportFormat, ExportKind
from tallyboard.exports.files import csv_file, xlsx_file
from tallyboard.exports.reports import jobs_sheets, usage_sheet
from tallyboard.exports.scratch import Scratch, sweep
from tallyboard.storage.database import Database
from tallyboard.storage.export_chunks import CHUNK_SIZE
from tallyboard.storage.export_claims import Claim, ExportClaims

__all__ = ["DOWNLOAD_GRACE", "KEEP_EVERY", "LEASE", "SWEEP_EVERY", "ExportBuilder"]

log = logging.getLogger(__name__)

LEASE = 30.0
"""Seconds a claim lives without a refresh; then another process resumes the job."""
KEEP_EVERY = 5.0
"""Seconds between a running build's claim refreshes."""
DOWNLOAD_GRACE = 3600.0
"""Seconds an expired file's stored chunks are kept for the downloads that began
before it expired (a download is served whole if it ends within this after expiry)."""
SWEEP_EVERY = 300.0
"""Seconds between two sweeps of the export dir for crashed builds' scratch files."""
FAILED_MESSAGE = "The export could not be built; create it again"


class _Lost(Exception):
    """Another process took over the job (this one stalled past the lease)."""


class _Keeper:
    """Refreshes the claim while rows stream (called after every row, cheap between)."""

    def __init__(self, claims: ExportClaims, claim: Claim, now_ms: Callable[[], int]) -> None:
        self.claim = claim
        self._claims = claims
        self._now_ms = now_ms
        self._next = time.monotonic() + KEEP_EVERY

    def __call__(self) -> None:
        if time.monotonic() < self._next:
            return
        kept = self._claims.keep(self.claim, self._now_ms())
        if kept is None:
            raise _Lost
        self.claim = kept
        self._next = time.monotonic() + KEEP_EVERY


class ExportBuilder:
    def __init__(
        self,
        database: Database,
        policy: Policy,
        clock: Clock,
        *,
        ttl: int,
        export_dir: str | None = None,
        poll_interval: float = 1.0,
        chunk_size: int = CHUNK_SIZE,
    ) -> None:
        self._database = database
        self._claims = ExportClaims(database)
        self._policy = policy
        self._clock = clock
        self._ttl_ms = ttl * 1000
        self._dir = Path(export_dir) if export_dir else None
        self._poll = poll_interval
        self.chunk_size = chunk_size
        """Bytes per stored chunk of a file kept in the database (tests make it small)."""
        self._task: asyncio.Task[None] | None = None
        self._next_sweep = 0.0  # the first round sweeps

    @property
    def claims(self) -> ExportClaims:
        return self._claims

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tallyboard-export-builder")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            built = False
            try:
                built = await anyio.to_thread.run_sync(self.run_once)
            except Exception:  # a failed round is retried next time; never kill the loop
                log.exception("export build round failed")
            if not built:
                await asyncio.sleep(self._poll)

    def _now_ms(self) -> int:
        return int(self._clock.now().timestamp() * 1000)

    def run_once(self) -> bool:
        """Expire old files, then build one job; whether a job was claimed."""
        if self._dir is not None and time.monotonic() >= self._next_sweep:
            try:
                self.sweep_scratch()
            except Exception:  # leftovers wait for the next sweep; building goes on
                log.exception("sweeping the export dir failed")
        due, expired = self._claims.work(self._now_ms(), int(LEASE * 1000))
        if expired:
            for path in self._claims.expire(self._now_ms(), int(DOWNLOAD_GRACE * 1000)):
                with contextlib.suppress(OSError):
                    os.unlink(path)
        if not due:
            return False
        claim = self._claims.claim(self._now_ms(), int(LEASE * 1000))
        if claim is None:
            return False
        self.build(claim)
        return True

    def sweep_scratch(self) -> list[str]:
        """Delete the scratch files crashed builds left in the export dir; their names."""
        self._next_sweep = time.monotonic() + SWEEP_EVERY
        if self._dir is None:
            return []
        lease_ms = int(LEASE * 1000)
        deleted = sweep(
            self._dir, lambda: self._claims.building(self._now_ms(), lease_ms), grace=LEASE
        )
        if deleted:
            log.info("deleted %d scratch files of crashed export builds", len(deleted))
        return deleted

    def build(self, claim: Claim) -> None:
        keeper = _Keeper(self._claims, claim, self._now_ms)
        name = f"{claim.kind.value.replace('_', '-')}-{claim.id}.{claim.format.extension}"
        scratch: Scratch | None = None
        try:
            if self._dir is not None:
                self._dir.mkdir(parents=True, exist_ok=True)
            # In the export dir when set, so the finished file is renamed into place.
            scratch = Scratch(self._dir, claim.id)
            partial = self._render(claim, keeper, scratch.path)
            self._store(keeper.claim, name, scratch.path, partial)
        except _Lost:
            log.info("export %s was taken over by another process", claim.id)
        except Exception:
            log.exception("export %s failed", claim.id)
            self._claims.fail(keeper.claim, FAILED_MESSAGE, self._now_ms())
        finally:
            if scratch is not None:
                scratch.close()

    def _store(self, claim: Claim, name: str, scratch: str, partial: bool) -> None:
        """Land the built file: renamed into the export dir, or into the database as
        chunks (in the transaction that finishes the job)."""
        now = self._now_ms()
        times = {"finished_at": now, "expires_at": now + self._ttl_ms}
        if self._dir is None:
            with open(scratch, "rb") as file:
                self._claims.finish(
                    claim,
                    file_name=name,
                    content=file,
                    file_path=None,
                    partial=partial,
                    chunk_size=self.chunk_size,
                    **times,
                )
            return
        # The claim's token in the path: a build that lost its claim never renames over,
        # or deletes, the file of the build that won.
        stem, extension = name.rsplit(".", 1)
        target = self._dir / f"{stem}-{claim.token}.{extension}"
        os.replace(scratch, target)
        landed = self._claims.finish(
            claim, file_name=name, content=None, file_path=str(target), partial=partial, **times
        )
        if not landed:
            with contextlib.suppress(OSError):
                os.unlink(target)

    def _render(self, claim: Claim, keeper: _Keeper, path: str) -> bool:
        """Write the file to ``path``; whether it is partial."""
        if claim.kind is ExportKind.AUTOMATION_JOBS:
            xlsx_file(jobs_sheets(self._database, claim), path, keeper)
            return False
        sheet, partial = usage_sheet(self._database, self._policy, claim)
        if claim.format is ExportFormat.CSV:
            csv_file(sheet, path, keeper)
        else:
            xlsx_file([sheet], path, keeper)
        return partial
