"""The last run of a flow and the last job of an automation after a void (section 11):
recomputed from the events that still count, as if the voided one had never been
accepted. Adjustments never move them, so only raw events are read."""

from __future__ import annotations

from datetime import date

import orjson
from sqlalchemy import Table, select, update
from sqlalchemy.engine import Connection

from tallyboard.domain.events import EVENT_TYPE_CODES, Event, JobRun, TaskRun
from tallyboard.storage import tables as t
from tallyboard.storage import tables_automation as ta

__all__ = ["restore_last_times"]

_DAY_MS = 86_400_000
_EPOCH = date(1970, 1, 1).toordinal()


def restore_last_times(conn: Connection, voided: Event) -> None:
    """Lower the day's and the month's last run (last job) that ``voided`` set to the
    latest one left, or 0 when none is left."""
    usage = voided.usage
    if isinstance(usage, TaskRun):
        tables = (t.flow_usage_daily, t.flow_usage_monthly)
        entry, field, column, unit = usage.flow_id, "flowId", "last_run_at", 1000  # seconds
    elif isinstance(usage, JobRun):
        tables = (ta.automation_jobs_daily, ta.automation_jobs_monthly)
        entry, field, column, unit = usage.automation_id, "automationId", "last_job_at", 1
    else:
        return
    code = EVENT_TYPE_CODES[voided.type]
    day_start = voided.time_ms - voided.time_ms % _DAY_MS
    day = date.fromordinal(_EPOCH + day_start // _DAY_MS)
    first = day.replace(day=1)
    after = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    ranges = (
        (day_start, day_start + _DAY_MS, day.isoformat()),
        ((first.toordinal() - _EPOCH) * _DAY_MS, (after.toordinal() - _EPOCH) * _DAY_MS, ""),
    )
    for table, (start, end, label) in zip(tables, ranges, strict=True):
        latest = _latest_ms(conn, voided.org_pk, code, (field, entry), start, end)
        bucket = "day" if label else "month"
        key = (voided.org_pk, label or day.isoformat()[:7], entry)
        new = latest // unit if latest >= 0 else 0
        _lower(conn, table, (bucket, column), key, voided.time_ms // unit, new)


def _latest_ms(
    conn: Connection, org_pk: int, code: int, entry: tuple[str, str], start: int, end: int
) -> int:
    """Time of the latest event still counting of the flow (automation) in
    ``[start, end)``, or -1 (newest first: usually the first row decides)."""
    field, entry_id = entry
    e = t.events
    query = (
        select(e.c.time_ms, e.c.payload)
        .where(
            e.c.org_pk == org_pk,
            e.c.type == code,
            e.c.time_ms >= start,
            e.c.time_ms < end,
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


def _lower(
    conn: Connection,
    table: Table,
    columns: tuple[str, str],
    key: tuple[int, str, str],
    removed: int,
    new: int,
) -> None:
    """Set the row's last time to ``new`` if it was the removed event's."""
    bucket, column = columns
    org_pk, label, entry_id = key
    entry_column = table.c.flow_id if "flow_id" in table.c else table.c.automation_id
    conn.execute(
        update(table)
        .where(
            table.c.org_pk == org_pk,
            table.c[bucket] == label,
            entry_column == entry_id,
            table.c[column] == removed,
        )
        .values({column: new})
    )
