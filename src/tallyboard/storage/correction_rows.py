"""Which rollup rows a void leaves behind (section 11: "as if never accepted").

A rollup row exists exactly when some entry of the ledger that still counts -- a raw
event that is not void, an adjustment, a metering flush -- added to it, whatever its
figures add up to: an AI-credit event may carry zero credits, and adjustments may
bring a figure back to zero, and both leave the row (and the agent, flow or value it
lists). That is what the write paths produce, in any order. So a void deletes a row it
touched only when the row holds nothing any more *and* nothing left in the ledger adds
to it; adjustments delete nothing (each is itself an entry of the row).

Finding what still adds to a row costs little: only rows left at zero are looked at,
the month's adjustments of the event's type are few, and raw events are read only for
AI credits -- every other raw event adds at least one call, run or job, so a row left
at zero with no adjustment behind it has no raw event behind it either.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date

from sqlalchemy import Table, and_, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tallyboard.domain.corrections import ADJUSTMENT_SOURCE, adjustment_deltas, event_from_payload
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.events import EVENT_TYPE_CODES, Event
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, OTHER, EventType
from tallyboard.storage import tables as t
from tallyboard.storage import tables_automation as ta
from tallyboard.storage.correction_store import admitted_operation_names
from tallyboard.storage.correction_tables import adjustments

__all__ = ["drop_unbacked_rows", "touched_rows"]

RowId = tuple[str, tuple[object, ...]]
"""(table name, the row's key: organization, day or month, then the rest)."""

_TABLES: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...]]] = {
    # name: (table, key columns, the figures that are all zero in a row holding nothing)
    "api_calls_daily": (t.api_calls_daily, ("org_pk", "day", "dimension", "value"), ("calls",)),
    "api_calls_monthly": (
        t.api_calls_monthly,
        ("org_pk", "month", "dimension", "value"),
        ("calls",),
    ),
    "flow_usage_daily": (t.flow_usage_daily, ("org_pk", "day", "flow_id"), ("tasks", "runs")),
    "flow_usage_monthly": (
        t.flow_usage_monthly,
        ("org_pk", "month", "flow_id"),
        ("tasks", "runs"),
    ),
    "task_usage_daily": (t.task_usage_daily, ("org_pk", "day"), ("tasks", "runs")),
    "ai_credits_daily": (
        t.ai_credits_daily,
        ("org_pk", "day", "resource", "agent_id"),
        ("credits",),
    ),
    "ai_credits_monthly": (
        t.ai_credits_monthly,
        ("org_pk", "month", "resource", "agent_id"),
        ("credits",),
    ),
    "automation_jobs_daily": (
        ta.automation_jobs_daily,
        ("org_pk", "day", "automation_id"),
        ("jobs",),
    ),
    "automation_jobs_monthly": (
        ta.automation_jobs_monthly,
        ("org_pk", "month", "automation_id"),
        ("jobs",),
    ),
}
_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1).toordinal()


def touched_rows(deltas: RollupDeltas) -> set[RowId]:
    """Every rollup row ``deltas`` add to, as the writer keys them (operation names
    already mapped to ``Other`` where they were counted so)."""
    rows: set[RowId] = set()
    for org, day, operation, token in deltas.api_calls:
        label = day.isoformat()
        for dimension, value in ((0, ""), (1, operation), (2, token)):
            rows.add(("api_calls_daily", (org, label, dimension, value)))
            rows.add(("api_calls_monthly", (org, label[:7], dimension, value)))
    for org, day, flow_id in deltas.flow_runs:
        label = day.isoformat()
        rows.add(("flow_usage_daily", (org, label, flow_id)))
        rows.add(("flow_usage_monthly", (org, label[:7], flow_id)))
        rows.add(("task_usage_daily", (org, label)))
    for org, day, resource, agent in deltas.ai_credits:
        label = day.isoformat()
        rows.add(("ai_credits_daily", (org, label, int(resource), agent)))
        rows.add(("ai_credits_monthly", (org, label[:7], int(resource), agent)))
    for org, day, automation_id in deltas.automation_jobs:
        label = day.isoformat()
        rows.add(("automation_jobs_daily", (org, label, automation_id)))
        rows.add(("automation_jobs_monthly", (org, label[:7], automation_id)))
    return rows


def drop_unbacked_rows(conn: Connection, voided: Event, deltas: RollupDeltas) -> None:
    """After ``voided``'s ``deltas`` were taken away: delete the rows they touched that
    hold nothing and that nothing left in the ledger adds to."""
    empty = {row for row in sorted(touched_rows(deltas)) if _holds_nothing(conn, row)}
    if not empty:
        return
    day_start = voided.time_ms - voided.time_ms % _DAY_MS
    month_start, month_end = _month_range(day_start)
    code = EVENT_TYPE_CODES[voided.type]
    _strike_backed(conn, empty, _adjustments(conn, voided.org_pk, code, month_start, month_end))
    if empty and voided.type is EventType.AI_CREDIT:
        # Raw AI-credit events may add zero: the day first, the month if still needed.
        for start, end in ((day_start, day_start + _DAY_MS), (month_start, month_end)):
            if empty:
                _strike_backed(conn, empty, _events(conn, voided, code, start, end))
    for name, key in sorted(empty):
        table, columns, _ = _TABLES[name]
        conn.execute(delete(table).where(_match(table, columns, key)))


def _match(table: Table, columns: tuple[str, ...], key: tuple[object, ...]) -> ColumnElement[bool]:
    return and_(*(table.c[column] == value for column, value in zip(columns, key, strict=True)))


def _holds_nothing(conn: Connection, row: RowId) -> bool:
    name, key = row
    table, columns, figures = _TABLES[name]
    query = select(*(table.c[f] for f in figures)).where(_match(table, columns, key))
    found = conn.execute(query).first()
    return found is not None and not any(found)


def _month_range(day_start: int) -> tuple[int, int]:
    day = date.fromordinal(_EPOCH + day_start // _DAY_MS)
    first = day.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (first.toordinal() - _EPOCH) * _DAY_MS, (after.toordinal() - _EPOCH) * _DAY_MS


def _adjustments(
    conn: Connection, org_pk: int, code: int, start: int, end: int
) -> Generator[RollupDeltas, None, None]:
    a = adjustments
    query = select(a.c.adjustment_id, a.c.payload).where(
        a.c.org_pk == org_pk, a.c.type == code, a.c.time_ms >= start, a.c.time_ms < end
    )
    for adjustment_id, payload in conn.execute(query):
        event = event_from_payload(org_pk, ADJUSTMENT_SOURCE, adjustment_id, "", bytes(payload))
        yield adjustment_deltas(event)


def _events(
    conn: Connection, voided: Event, code: int, start: int, end: int
) -> Generator[RollupDeltas, None, None]:
    e = t.events
    query = (
        select(e.c.source, e.c.event_id, e.c.payload)
        .where(
            e.c.org_pk == voided.org_pk,
            e.c.type == code,
            e.c.time_ms >= start,
            e.c.time_ms < end,
            e.c.voided_at_ms.is_(None),
        )
        .execution_options(yield_per=500)
    )
    result = conn.execute(query)
    try:
        for source, event_id, payload in result:
            event = event_from_payload(voided.org_pk, source, event_id, "", bytes(payload))
            yield usage_deltas([event])
    finally:
        result.close()  # left early once every row is accounted for


def _strike_backed(
    conn: Connection, empty: set[RowId], contributions: Generator[RollupDeltas, None, None]
) -> None:
    """Take out of ``empty`` the rows the ledger entries of ``contributions`` add to
    (reading no further once none is left)."""
    try:
        for deltas in contributions:
            _count_as_admitted(conn, deltas)
            empty -= touched_rows(deltas)
            if not empty:
                return
    finally:
        contributions.close()


def _count_as_admitted(conn: Connection, deltas: RollupDeltas) -> None:
    for key in list(deltas.api_calls):
        org_pk, day, operation, token = key
        if operation in (NOT_SPECIFIED, OTHER):
            continue
        month = day.isoformat()[:7]
        if not admitted_operation_names(conn, org_pk, month, [operation]):
            calls = deltas.api_calls.pop(key)
            deltas.api_calls[(org_pk, day, OTHER, token)] = calls
