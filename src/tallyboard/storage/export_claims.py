"""The builder's side of export jobs (spec §9 "Exports"): claim, keep, finish, expire.

A job is claimed by setting ``status = processing`` and ``claimed_at``; ``claimed_at``
is also the claim's token: the builder refreshes it while it streams rows, and its
finish only lands while the token is still its own. A claim not refreshed within the
lease (its process crashed) is claimed again by any process. On PostgreSQL the claim
reads with ``FOR UPDATE SKIP LOCKED``, so concurrent builders never pick the same job;
SQLite's single writer serializes them (the clause is not compiled there).

An expired job's ``claimed_at`` is reused as the time its stored chunks are due for
deletion (null once deleted): chunks outlive the expiry by a grace period, so a
download that started before the expiry still reads every chunk (see :meth:`expire`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import BinaryIO

from sqlalchemy import ColumnElement, and_, exists, or_, select, update

from tallyboard.domain.exports import ExportFormat, ExportKind, ExportStatus
from tallyboard.storage import export_chunks
from tallyboard.storage.database import Database
from tallyboard.storage.export_tables import export_jobs as j

__all__ = ["Claim", "ExportClaims"]


@dataclass(frozen=True, slots=True)
class Claim:
    id: str
    principal_kind: str
    principal_pk: int
    kind: ExportKind
    format: ExportFormat
    parameters: str
    created_at: int
    token: int
    """``claimed_at`` as this claim wrote it."""


class ExportClaims:
    def __init__(self, database: Database) -> None:
        self._database = database

    def work(self, now_ms: int, lease_ms: int) -> tuple[bool, bool]:
        """(a job is due, a file has expired or its chunks are due for deletion): one
        read, so an idle builder never takes the write lock (SQLite's is the whole
        database's)."""
        due = exists().where(_due(now_ms, lease_ms))
        expired = exists().where(or_(_expired(now_ms), _purge_due(now_ms)))
        with self._database.read() as conn:
            row = conn.execute(select(due, expired)).one()
        return bool(row[0]), bool(row[1])

    def claim(self, now_ms: int, lease_ms: int) -> Claim | None:
        """The oldest job waiting, or whose build stalled for ``lease_ms``, now ours."""
        due = _due(now_ms, lease_ms)
        query = (
            select(
                j.c.id,
                j.c.principal_kind,
                j.c.principal_pk,
                j.c.kind,
                j.c.format,
                j.c.parameters,
                j.c.created_at,
                j.c.claimed_at,
            )
            .where(due)
            .order_by(j.c.created_at, j.c.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        with self._database.write() as conn:
            row = conn.execute(query).one_or_none()
            if row is None:
                return None
            token = max(now_ms, (row.claimed_at or 0) + 1)
            conn.execute(
                update(j)
                .where(j.c.id == row.id)
                .values(status=ExportStatus.PROCESSING.value, claimed_at=token)
            )
        return Claim(
            id=row.id,
            principal_kind=row.principal_kind,
            principal_pk=row.principal_pk,
            kind=ExportKind(row.kind),
            format=ExportFormat(row.format),
            parameters=row.parameters,
            created_at=row.created_at,
            token=token,
        )

    def keep(self, claim: Claim, now_ms: int) -> Claim | None:
        """The claim with a fresh token, or None when another process took the job."""
        token = max(now_ms, claim.token + 1)
        with self._database.write() as conn:
            changed = conn.execute(update(j).where(*_ours(claim)).values(claimed_at=token)).rowcount
        if not changed:
            return None
        return replace(claim, token=token)

    def finish(
        self,
        claim: Claim,
        *,
        file_name: str,
        content: bytes | BinaryIO | None,
        file_path: str | None,
        partial: bool,
        finished_at: int,
        expires_at: int,
        chunk_size: int = export_chunks.CHUNK_SIZE,
    ) -> bool:
        """Whether the file landed (False: the claim was lost; the other build wins).

        ``content`` (the file's bytes, or a binary file read to its end) is stored as
        chunks in this same transaction, after the claim is checked ours (on
        PostgreSQL the job's row stays locked till commit): a file is whole or absent.
        """
        values = {
            "status": ExportStatus.FINISHED.value,
            "file_name": file_name,
            "content": None,
            "file_path": file_path,
            "partial": partial,
            "finished_at": finished_at,
            "expires_at": expires_at,
        }
        with self._database.write() as conn:
            if not conn.execute(update(j).where(*_ours(claim)).values(**values)).rowcount:
                return False
            if content is not None:
                source = io.BytesIO(content) if isinstance(content, bytes) else content
                export_chunks.write_chunks(conn, claim.id, source, chunk_size)
        return True

    def fail(self, claim: Claim, error: str, finished_at: int) -> bool:
        values = {
            "status": ExportStatus.FAILED.value,
            "error": error,
            "finished_at": finished_at,
        }
        with self._database.write() as conn:
            return bool(conn.execute(update(j).where(*_ours(claim)).values(**values)).rowcount)

    def building(self, now_ms: int, lease_ms: int) -> list[str]:
        """The jobs whose build is live: claimed and refreshed within ``lease_ms``."""
        live = and_(
            j.c.status == ExportStatus.PROCESSING.value, j.c.claimed_at >= now_ms - lease_ms
        )
        with self._database.read() as conn:
            return list(conn.execute(select(j.c.id).where(live)).scalars())

    def expire(self, now_ms: int, grace_ms: int) -> list[str]:
        """Expire the files past their TTL; the paths of those kept on disk (to delete).

        An expired file is gone for every new download (410) at once. Its stored chunks
        are deleted ``grace_ms`` later, by a later call: a download that began before
        the expiry reads them one at a time and would otherwise end short of its
        ``Content-Length``. (A file on disk needs no grace: a download reads it from
        the handle it opened, which deleting the file does not close.)
        """
        gone = _expired(now_ms)
        purge = _purge_due(now_ms)
        with self._database.write() as conn:
            paths = [p for p in conn.execute(select(j.c.file_path).where(gone)).scalars() if p]
            conn.execute(
                update(j)
                .where(gone)
                .values(
                    status=ExportStatus.EXPIRED.value,
                    content=None,
                    file_path=None,
                    claimed_at=now_ms + grace_ms,
                )
            )
            export_chunks.delete_chunks(conn, select(j.c.id).where(purge))
            conn.execute(update(j).where(purge).values(claimed_at=None))
        return paths


def _due(now_ms: int, lease_ms: int) -> ColumnElement[bool]:
    return or_(
        j.c.status == ExportStatus.CREATED.value,
        and_(j.c.status == ExportStatus.PROCESSING.value, j.c.claimed_at < now_ms - lease_ms),
    )


def _expired(now_ms: int) -> ColumnElement[bool]:
    return and_(j.c.status == ExportStatus.FINISHED.value, j.c.expires_at <= now_ms)


def _purge_due(now_ms: int) -> ColumnElement[bool]:
    """Expired jobs whose chunks are due for deletion (``claimed_at``: when)."""
    return and_(j.c.status == ExportStatus.EXPIRED.value, j.c.claimed_at <= now_ms)


def _ours(claim: Claim) -> tuple[ColumnElement[bool], ...]:
    return (
        j.c.id == claim.id,
        j.c.status == ExportStatus.PROCESSING.value,
        j.c.claimed_at == claim.token,
    )
