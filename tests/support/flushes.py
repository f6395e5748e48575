"""What the flush path did, read from outside: test-only questions that production code
never asks (so they live here, not in ``src``)."""

from __future__ import annotations

from tallyboard.metering.flusher import Flusher
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database

__all__ = ["consecutive_failures", "flush_applied"]


def flush_applied(database: Database, flush_id: str) -> bool:
    """Whether the flush id is recorded as applied (``metering_flushes``)."""
    with database.read() as conn:
        row = conn.execute(
            t.metering_flushes.select().where(t.metering_flushes.c.flush_id == flush_id)
        ).first()
    return row is not None


def consecutive_failures(flusher: Flusher) -> int:
    """Failed attempts since the last success (what the flusher's backoff is based on)."""
    return flusher._failures
