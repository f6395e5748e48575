"""Storage of corrections (section 11): voiding raw events, the adjustments ledger,
and the checks a correction runs on the rollups it changed, in the caller's
transaction.

A void claims its event with one conditional ``UPDATE`` (``voided_at_ms IS NULL``):
of two processes voiding the same event at once, exactly one changes the rollups.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

import orjson
from sqlalchemy import Table, and_, delete, func, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tallyboard.domain.events import EVENT_TYPE_CODES, Event
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import OTHER, ApiDimension, EventType
from tallyboard.storage import tables as t
from tallyboard.storage.correction_tables import adjustments
from tallyboard.storage.dialect import InsertOutcome, StorageDialect
from tallyboard.storage.tables_automation import automation_jobs_daily, automation_jobs_monthly

__all__ = [
    "StoredEvent",
    "admitted_operation_names",
    "claim_void",
    "drop_empty_rows",
    "find_event",
    "has_negative_figures",
    "insert_adjustment",
    "latest_job_ms",
    "latest_run_ms",
    "lower_last_job",
    "lower_last_run",
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
    yield automation_jobs_daily, "day", ("jobs",)
    yield automation_jobs_monthly, "month", ("jobs",)


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


def drop_empty_rows(conn: Connection, deltas: RollupDeltas) -> None:
    """Delete the rows ``deltas`` touched that hold nothing any more: a value whose only
    usage was voided disappears from every listing (section 11). Rows it did not touch
    stay as they are."""
    for org_pk, day, operation, token in deltas.api_calls:
        values = {(0, ""), (1, operation), (1, OTHER), (2, token)}
        for table, bucket, label in _buckets(t.api_calls_daily, t.api_calls_monthly, day):
            for dimension, value in sorted(values):
                conn.execute(
                    delete(table).where(
                        table.c.org_pk == org_pk,
                        table.c[bucket] == label,
                        table.c.dimension == dimension,
                        table.c.value == value,
                        table.c.calls == 0,
                    )
                )
    for org_pk, day, flow_id in deltas.flow_runs:
        for table, bucket, label in _buckets(t.flow_usage_daily, t.flow_usage_monthly, day):
            conn.execute(
                delete(table).where(
                    table.c.org_pk == org_pk,
                    table.c[bucket] == label,
                    table.c.flow_id == flow_id,
                    table.c.tasks == 0,
                    table.c.runs == 0,
                )
            )
        tu = t.task_usage_daily
        conn.execute(
            delete(tu).where(
                tu.c.org_pk == org_pk, tu.c.day == day.isoformat(), tu.c.tasks == 0, tu.c.runs == 0
            )
        )
    for org_pk, day, automation_id in deltas.automation_jobs:
        for table, bucket, label in _buckets(automation_jobs_daily, automation_jobs_monthly, day):
            conn.execute(
                delete(table).where(
                    table.c.org_pk == org_pk,
                    table.c[bucket] == label,
                    table.c.automation_id == automation_id,
                    table.c.jobs == 0,
                )
            )
    for org_pk, day, resource, agent in deltas.ai_credits:
        for table, bucket, label in _buckets(t.ai_credits_daily, t.ai_credits_monthly, day):
            conn.execute(
                delete(table).where(
                    table.c.org_pk == org_pk,
                    table.c[bucket] == label,
                    table.c.resource == int(resource),
                    table.c.agent_id == agent,
                    table.c.credits == 0,
                )
            )


def _buckets(daily: Table, monthly: Table, day: date) -> list[tuple[Table, str, str]]:
    label = day.isoformat()
    return [(daily, "day", label), (monthly, "month", label[:7])]


def latest_run_ms(conn: Connection, org_pk: int, flow_id: str, start_ms: int, end_ms: int) -> int:
    """Time of the latest run of the flow in ``[start_ms, end_ms)`` among the events
    that still count, or -1."""
    return _latest_ms(conn, org_pk, (_TASK, "flowId", flow_id), start_ms, end_ms)


def latest_job_ms(
    conn: Connection, org_pk: int, automation_id: str, start_ms: int, end_ms: int
) -> int:
    """:func:`latest_run_ms` for the jobs of an automation."""
    return _latest_ms(conn, org_pk, (_JOB, "automationId", automation_id), start_ms, end_ms)


def _latest_ms(
    conn: Connection, org_pk: int, entry: tuple[int, str, str], start_ms: int, end_ms: int
) -> int:
    """The latest time of an event of type ``entry[0]`` whose ``data[entry[1]]`` is
    ``entry[2]`` in ``[start_ms, end_ms)``, not void, or -1 (newest first: usually the
    first row decides)."""
    type_code, field, entry_id = entry
    e = t.events
    query = (
        select(e.c.time_ms, e.c.payload)
        .where(
            e.c.org_pk == org_pk,
            e.c.type == type_code,
            e.c.time_ms >= start_ms,
            e.c.time_ms < end_ms,
            e.c.voided_at_ms.is_(None),
        )
        .order_by(e.c.time_ms.desc())
        .execution_options(yield_per=500)
    )
    result = conn.execute(query)
    try:
        for time_ms, payload in result:
            if orjson.loads(payload)["data"][field] == entry_id:
                return int(time_ms)
        return -1
    finally:
        result.close()  # usually left after its first row


def lower_last_run(
    conn: Connection, table: Table, bucket: str, key: tuple[int, str, str], removed: int, new: int
) -> None:
    """Set ``last_run_at`` of a flow row to ``new`` if it was the removed run's time."""
    org_pk, label, flow_id = key
    conn.execute(
        update(table)
        .where(
            table.c.org_pk == org_pk,
            table.c[bucket] == label,
            table.c.flow_id == flow_id,
            table.c.last_run_at == removed,
        )
        .values(last_run_at=new)
    )


def lower_last_job(
    conn: Connection, table: Table, bucket: str, key: tuple[int, str, str], removed: int, new: int
) -> None:
    """Set ``last_job_at`` (epoch ms) of an automation row to ``new`` if it was the
    removed job's time."""
    org_pk, label, automation_id = key
    conn.execute(
        update(table)
        .where(
            table.c.org_pk == org_pk,
            table.c[bucket] == label,
            table.c.automation_id == automation_id,
            table.c.last_job_at == removed,
        )
        .values(last_job_at=new)
    )
