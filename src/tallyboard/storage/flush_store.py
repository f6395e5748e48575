"""The self-metering flush transaction: a flush id and its rollup deltas, atomically.

A flush whose commit outcome is unknown (the connection broke during COMMIT) is
retried with the same id. The id is inserted in the same transaction as the rollup
upserts, so exactly one of the attempts can ever commit: a retry that finds its id
already present knows the first attempt committed and discards the batch. On
PostgreSQL ``ON CONFLICT DO NOTHING`` also waits for an attempt still in flight on a
broken connection, so the answer is never "not yet known".

**One key cannot poison a flush.** When the database refuses the batch for the values
it carries (``StorageDialect.refuses_content``: a name too long for an index entry, a
NUL, an organization deleted meanwhile, a monthly total past the ceiling) rather than
for being unreachable, retrying the same batch would fail forever and stop every
organization's metering. The batch is then applied again in a new transaction, under
the same id, halving it within savepoints until each refused key stands alone
(``storage/isolation.py``): those keys are set aside (returned, for the flusher to count
and log) and everything else commits with the id. Exactly once still holds: the id and
every applied key commit together or not at all, and the set-aside keys are never
retried.

Flush ids only need to outlive the longest retry of a batch; old ones are pruned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, text
from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.storage import tables as t
from tallyboard.storage.closed_months_store import record_late_metering
from tallyboard.storage.database import Database
from tallyboard.storage.isolation import apply_isolating, refusal_reason
from tallyboard.storage.ledger_store import record_flush
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["FlushResult", "FlushStore", "RefusedKey"]

# The same statement on SQLite (3.24+) and PostgreSQL, so it needs no dialect hook.
_CLAIM = text(
    "INSERT INTO metering_flushes (flush_id, applied_at_ms) VALUES (:flush_id, :at) "
    "ON CONFLICT (flush_id) DO NOTHING"
)


@dataclass(frozen=True, slots=True)
class RefusedKey:
    """One key of a batch the database refused for what it holds; it was set aside."""

    deltas: RollupDeltas
    """Exactly one key and its value."""
    reason: str
    """The database's refusal, shortened (it may quote the key)."""


@dataclass(frozen=True, slots=True)
class FlushResult:
    applied: bool
    """False when an earlier attempt with this flush id had already committed."""
    refused: tuple[RefusedKey, ...] = field(default=())
    """Keys set aside; everything else of the batch committed with the id."""


class FlushStore:
    def __init__(self, database: Database, writer: RollupWriter) -> None:
        self._db = database
        self._writer = writer

    def apply(self, flush_id: str, deltas: RollupDeltas, applied_at_ms: int) -> FlushResult:
        """Apply ``deltas`` once per ``flush_id``, setting aside keys refused for their
        content; raise when the database could not be used at all (retry the same id)."""
        try:
            with self._db.write() as conn:
                if not _claim(conn, flush_id, applied_at_ms):
                    return FlushResult(applied=False)
                self._writer.apply(conn, deltas)
                record_flush(conn, flush_id, deltas)
                record_late_metering(conn, deltas, applied_at_ms)
            return FlushResult(applied=True)
        except Exception as exc:
            if not self._db.dialect.refuses_content(exc):
                raise
        try:
            return self._apply_isolating(flush_id, deltas, applied_at_ms)
        except Exception:
            # Savepoints released inside a transaction that then failed may have taught
            # the writer names that were never committed: forget them all.
            self._writer.forget_cached_names()
            raise

    def _apply_isolating(
        self, flush_id: str, deltas: RollupDeltas, applied_at_ms: int
    ) -> FlushResult:
        with self._db.write() as conn:
            if not _claim(conn, flush_id, applied_at_ms):
                return FlushResult(applied=False)
            refused = apply_isolating(
                conn,
                _single_keys(deltas),
                lambda part: self._writer.apply(conn, _merged(part)),
                self._db.dialect.refuses_content,
            )
            set_aside = {key for unit, _ in refused for key in unit.api_calls}
            calls = {k: v for k, v in deltas.api_calls.items() if k not in set_aside}
            applied = RollupDeltas(api_calls=calls)
            record_flush(conn, flush_id, applied)
            record_late_metering(conn, applied, applied_at_ms)
        keys = tuple(RefusedKey(key, refusal_reason(exc)) for key, exc in refused)
        return FlushResult(applied=True, refused=keys)

    def prune(self, applied_before_ms: int) -> int:
        """Forget flush ids applied before the given instant; returns how many."""
        table = t.metering_flushes
        with self._db.write() as conn:
            result = conn.execute(delete(table).where(table.c.applied_at_ms < applied_before_ms))
        return int(result.rowcount)


def _claim(conn: Connection, flush_id: str, applied_at_ms: int) -> bool:
    """Insert the id; False when an earlier attempt already committed it."""
    return conn.execute(_CLAIM, {"flush_id": flush_id, "at": applied_at_ms}).rowcount != 0


def _single_keys(deltas: RollupDeltas) -> list[RollupDeltas]:
    units = [RollupDeltas(api_calls={key: calls}) for key, calls in deltas.api_calls.items()]
    units += [RollupDeltas(flow_runs={key: run}) for key, run in deltas.flow_runs.items()]
    units += [RollupDeltas(ai_credits={key: micro}) for key, micro in deltas.ai_credits.items()]
    return units


def _merged(units: Sequence[RollupDeltas]) -> RollupDeltas:
    if len(units) == 1:
        return units[0]
    merged = RollupDeltas()
    for unit in units:
        merged.merge(unit)
    return merged
