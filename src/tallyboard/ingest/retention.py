"""Retention: raw events leave the ledger once they are older than the horizon.

Rollups are never touched: statistics outlive the raw events. Deletion runs in small
batches, each its own transaction, so ingestion never waits long behind it.

Duplicates are detected across the horizon because the window check refuses any
event older than it *before* the ledger is consulted, and retention only deletes
events that the window already refuses -- with a margin of a day, so processes whose
clocks disagree a little can never re-admit an event that another one deleted.
"""

from __future__ import annotations

import logging

import anyio
import anyio.to_thread

from tallyboard.domain.clock import Clock
from tallyboard.domain.event_time import epoch_ms
from tallyboard.observability.metrics import Metrics
from tallyboard.storage.event_store import EventStore

__all__ = ["MARGIN_DAYS", "RetentionSweeper"]

log = logging.getLogger(__name__)

MARGIN_DAYS = 1
_DAY_MS = 86_400_000


class RetentionSweeper:
    def __init__(
        self,
        store: EventStore,
        clock: Clock,
        retention_days: int,
        metrics: Metrics,
        batch_size: int = 5_000,
    ) -> None:
        self._store = store
        self._clock = clock
        self._retention_days = retention_days
        self._metrics = metrics
        self._batch_size = batch_size

    def cutoff_ms(self) -> int:
        """Events with ``time_ms`` below this are deleted."""
        return epoch_ms(self._clock.now()) - (self._retention_days + MARGIN_DAYS) * _DAY_MS

    def sweep(self) -> int:
        """Delete every expired raw event; returns how many were deleted."""
        cutoff = self.cutoff_ms()
        total = 0
        while True:
            deleted = self._store.delete_older_than(cutoff, self._batch_size)
            total += deleted
            self._metrics.retention_deleted.inc(deleted)
            if deleted < self._batch_size:
                break
        if total:
            log.info("retention deleted raw events", extra={"deleted": total})
        return total

    async def run(self, interval: float) -> None:
        """Sweep now and then every ``interval`` seconds, until cancelled."""
        while True:
            try:
                await anyio.to_thread.run_sync(self.sweep)
            except Exception:  # a failed sweep is retried next time; never kill the loop
                log.exception("retention sweep failed")
            await anyio.sleep(interval)
