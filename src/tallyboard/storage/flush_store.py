"""The self-metering flush transaction: a flush id and its rollup deltas, atomically.

A flush whose commit outcome is unknown (the connection broke during COMMIT) is
retried with the same id. The id is inserted in the same transaction as the rollup
upserts, so exactly one of the attempts can ever commit: a retry that finds its id
already present knows the first attempt committed and discards the batch. On
PostgreSQL ``ON CONFLICT DO NOTHING`` also waits for an attempt still in flight on a
broken connection, so the answer is never "not yet known".

Flush ids only need to outlive the longest retry of a batch; old ones are pruned.
"""

from __future__ import annotations

from sqlalchemy import delete, text

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["FlushStore"]

# The same statement on SQLite (3.24+) and PostgreSQL, so it needs no dialect hook.
_CLAIM = text(
    "INSERT INTO metering_flushes (flush_id, applied_at_ms) VALUES (:flush_id, :at) "
    "ON CONFLICT (flush_id) DO NOTHING"
)


class FlushStore:
    def __init__(self, database: Database, writer: RollupWriter) -> None:
        self._db = database
        self._writer = writer

    def apply(self, flush_id: str, deltas: RollupDeltas, applied_at_ms: int) -> bool:
        """Apply ``deltas`` once per ``flush_id``; False when an earlier attempt already did."""
        with self._db.write() as conn:
            claimed = conn.execute(_CLAIM, {"flush_id": flush_id, "at": applied_at_ms})
            if claimed.rowcount == 0:
                return False
            self._writer.apply(conn, deltas)
        return True

    def is_applied(self, flush_id: str) -> bool:
        with self._db.read() as conn:
            row = conn.execute(
                t.metering_flushes.select().where(t.metering_flushes.c.flush_id == flush_id)
            ).first()
        return row is not None

    def prune(self, applied_before_ms: int) -> int:
        """Forget flush ids applied before the given instant; returns how many."""
        table = t.metering_flushes
        with self._db.write() as conn:
            result = conn.execute(delete(table).where(table.c.applied_at_ms < applied_before_ms))
        return int(result.rowcount)
