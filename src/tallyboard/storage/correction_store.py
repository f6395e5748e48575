"""Storage of corrections (section 11): voiding raw events, the adjustments ledger,
and the checks a correction runs on the rollups it changed, in the caller's
transaction.

A void claims its event with one conditional ``UPDATE`` (``voided_at_ms IS NULL``):
of two processes voiding the same event at once, exactly one changes the rollups.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tallyboard.domain.events import EVENT_TYPE_CODES, Event
from tallyboard.domain.usage import ApiDimension, EventType
from tallyboard.storage import tables as t
from tallyboard.storage import tables_automation
from tallyboard.storage.correction_tables import adjustments
from tallyboard.storage.dialect import InsertOutcome, StorageDialect

__all__ = [
    "StoredEvent",
    "admitted_operation_names",
    "claim_void",
    "find_event",
    "has_negative_figures",
    "insert_adjustment",
]

_ADJUSTMENT_COLUMNS = (
    "org_pk",
    "adjustment_id",
    "type",
    "time_ms",
    "payload_hash",
    "payload",
    "reason",
    "created_at_ms",
)
_TASK = EVENT_TYPE_CODES[EventType.INTEGRATION_TASK]
_JOB = EVENT_TYPE_CODES[EventType.AUTOMATION_JOB]


@dataclass(frozen=True, slots=True)
class StoredEvent:
    time_ms: int
    payload: bytes
    voided: bool


def _event_key(org_pk: int, source: str, event_id: str) -> ColumnElement[bool]:
    e = t.events
    return and_(e.c.org_pk == org_pk, e.c.source == source, e.c.event_id == event_id)


def find_event(conn: Connection, org_pk: int, source: str, event_id: str) -> StoredEvent | None:
    e = t.events
    row = conn.execute(
        select(e.c.time_ms, e.c.payload, e.c.voided_at_ms).where(
            _event_key(org_pk, source, event_id)
        )
    ).first()
    if row is None:
        return None
    return StoredEvent(int(row[0]), bytes(row[1]), row[2] is not None)


def claim_void(conn: Connection, org_pk: int, source: str, event_id: str, now_ms: int) -> bool:
    """Mark the event void; True only for the one transaction that did (not yet void)."""
    e = t.events
    result = conn.execute(
        update(e)
        .where(_event_key(org_pk, source, event_id), e.c.voided_at_ms.is_(None))
        .values(voided_at_ms=now_ms)
    )
    return bool(result.rowcount)


def insert_adjustment(
    conn: Connection,
    dialect: StorageDialect,
    event: Event,
    reason: str,
    now_ms: int,
) -> InsertOutcome:
    """Store the adjustment unless its (organization, id) is taken; ``existing`` gives
    the stored hash of a taken id (a replay, or a CONFLICT)."""
    row = (
        event.org_pk,
        event.id,
        EVENT_TYPE_CODES[event.type],
        event.time_ms,
        event.digest,
        event.payload,
        reason,
        now_ms,
    )
    return dialect.insert_absent(
        conn, adjustments, 2, _ADJUSTMENT_COLUMNS, [row], ("payload_hash",)
    )


def admitted_operation_names(
    conn: Connection, org_pk: int, month: str, names: Collection[str]
) -> set[str]:
    """Which ``names`` have their own row in the month (the others counted as Other)."""
    table = t.api_calls_monthly
    query = select(table.c.value).where(
        table.c.org_pk == org_pk,
        table.c.month == month,
        table.c.dimension == int(ApiDimension.OPERATION_NAME),
        table.c.value.in_(sorted(names)),
    )
    return set(conn.execute(query).scalars())


def _figures() -> Iterable[tuple[Table, str, tuple[str, ...]]]:
    """Every rollup a correction may touch: (table, bucket column, figure columns)."""
    yield t.api_calls_daily, "day", ("calls",)
    yield t.api_calls_monthly, "month", ("calls",)
    yield t.flow_usage_daily, "day", ("tasks", "runs")
    yield t.flow_usage_monthly, "month", ("tasks", "runs")
    yield t.task_usage_daily, "day", ("tasks", "runs")
    yield t.ai_credits_daily, "day", ("credits",)
    yield t.ai_credits_monthly, "month", ("credits",)
    yield tables_automation.automation_jobs_daily, "day", ("jobs",)
    yield tables_automation.automation_jobs_monthly, "month", ("jobs",)


def has_negative_figures(conn: Connection, org_pk: int, day: str) -> bool:
    """Whether any rollup row of the organization's day or its month holds a negative
    figure (stored rows never do, so one found was made by this transaction)."""
    for table, bucket, columns in _figures():
        where = and_(
            table.c.org_pk == org_pk,
            table.c[bucket] == (day if bucket == "day" else day[:7]),
            or_(*(table.c[column] < 0 for column in columns)),
        )
        if conn.execute(select(func.count()).select_from(table).where(where)).scalar_one():
            return True
    return False
