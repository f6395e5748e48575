"""The locks a correction batch takes before it changes anything: one order for every
writer, so a batch never deadlocks with another batch, an ingest batch, a metering
flush or a repair (decision 0020).

Every writer of usage locks, in this order: the monthly totals rows of every
(organization, month) it writes, in key order (``usage_totals.add`` sorts them), then
the answer-reuse version rows, stream by stream, organizations ascending
(``usage_versions.bump``); whatever else it writes -- rollup rows, events, alerts --
belongs to a month whose totals it already holds. Ingestion and the flush take each
kind of lock in one statement. A correction batch judges its entries one at a time,
so without this each entry would lock its own month and stream in the batch's order,
and two batches (or a batch and an ingest batch) could wait for each other. Locking
the batch's months and streams up front, before its first event is claimed, puts it
in the common order.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import FIGURES, MonthKey
from tallyboard.domain.usage import EventType
from tallyboard.storage import usage_totals, usage_versions
from tallyboard.storage.dialect import StorageDialect

__all__ = ["lock_months", "lost_to_a_deadlock"]


_STREAMS = {
    EventType.API_CALL: usage_versions.Stream.API_CALLS,
    EventType.INTEGRATION_TASK: usage_versions.Stream.INTEGRATIONS,
}
"""The version each type of usage raises (AI credits and jobs raise none)."""


def lock_months(
    conn: Connection, dialect: StorageDialect, writes: Collection[tuple[int, str, EventType]]
) -> None:
    """Lock, until the transaction ends, the totals of every (organization, month) of
    ``writes`` and the versions their types of usage raise (adding zero: a month
    without figures gets an all-zero totals row, which every figure reads as nothing)."""
    if not writes:
        return
    months: set[MonthKey] = {(org_pk, month) for org_pk, month, _ in writes}
    usage_totals.add(conn, dialect, dict.fromkeys(sorted(months), (0,) * len(FIGURES)))
    for stream in usage_versions.Stream:  # ascending, as the writer bumps them
        organizations = {org_pk for org_pk, _, kind in writes if _STREAMS.get(kind) is stream}
        usage_versions.bump(conn, dialect, stream, organizations)


_CYCLE_STATES = frozenset({"40P01", "40001"})  # deadlock_detected, serialization_failure
_CYCLE_KINDS = frozenset({"database:DeadlockDetected", "database:SerializationFailure"})


def lost_to_a_deadlock(exc: BaseException) -> bool:
    """Whether PostgreSQL failed the transaction to end a lock cycle: it changed
    nothing, so running it again is safe. The error arrives translated (a statement
    through SQLAlchemy) or as the driver's own (``insert_absent`` uses its cursor)."""
    if getattr(exc, "kind", None) in _CYCLE_KINDS:
        return True
    for error in (exc, getattr(exc, "orig", None), exc.__cause__):
        if getattr(error, "sqlstate", None) in _CYCLE_STATES:
            return True
    return False
