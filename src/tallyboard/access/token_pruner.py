"""Housekeeping: expired and revoked access tokens leave the database.

Service accounts mint access tokens at ``/oauth/token`` as often as they like; a dead
token (expired, or revoked -- by a revocation or by the live-token cap) can never
authenticate again, so its row is only weight on every lookup and on backups. The
pruner deletes them in small batches, each its own transaction, so minting and
authentication never wait long behind it. A grace period keeps a token a little past
its death, so processes whose clocks disagree by a few seconds never delete a token
another one would still accept.

Runs in every server process (like retention); concurrent sweeps only compete for the
same rows, and a deletion is the same whoever makes it.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from tallyboard.domain.clock import Clock
from tallyboard.storage import credential_store as store
from tallyboard.storage.database import Database

__all__ = ["GRACE_SECONDS", "TokenPruner"]

log = logging.getLogger(__name__)

GRACE_SECONDS = 300


class TokenPruner:
    def __init__(self, database: Database, clock: Clock, batch_size: int = 1_000) -> None:
        self._db = database
        self._clock = clock
        self._batch_size = batch_size

    def cutoff(self) -> int:
        """Tokens that expired or were revoked at or before this epoch second go."""
        return int(self._clock.now().timestamp()) - GRACE_SECONDS

    def sweep(self) -> int:
        """Delete every dead access token; returns how many were deleted."""
        cutoff = self.cutoff()
        total = 0
        while True:
            with self._db.write() as conn:
                deleted = store.delete_dead_access_tokens(conn, cutoff, self._batch_size)
            total += deleted
            if deleted < self._batch_size:
                break
        if total:
            log.info("expired and revoked access tokens deleted", extra={"deleted": total})
        return total

    async def run(self, interval: float) -> None:
        """Sweep now and then every ``interval`` seconds, until cancelled."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.sweep)
            except Exception:  # a failed sweep is retried next time; never kill the loop
                log.exception("access token sweep failed")
            await anyio.sleep(interval)
