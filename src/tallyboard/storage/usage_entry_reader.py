"""SQL of the automation and agent listings (spec §9): the catalog and usage per entry.

Usage over a day range reads the monthly rollups for the months it covers whole and the
daily ones for the other days (at most months x entries + days x entries rows: jobs per
automation, micro-credits per AI-automation agent), whatever the number of jobs or
credits behind them (decision 0003). The catalog rows, the organization's pipes and
the creators' names are read whole: a listing needs every entry to filter and order.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Collection
from datetime import date, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Table,
    bindparam,
    cast,
    func,
    or_,
    select,
)
from sqlalchemy.engine import Connection

from tallyboard.domain.usage import AiResource
from tallyboard.storage import tables as t
from tallyboard.storage.driver_rows import fetch_rows
from tallyboard.storage.tables_automation import (
    automation_jobs_daily,
    automation_jobs_monthly,
    automations,
    pipes,
)

__all__ = [
    "EntryKind",
    "catalog",
    "creator_names",
    "pipes_of",
    "split_range",
    "usage",
]


class EntryKind(Enum):
    AUTOMATIONS = "automations"
    AGENTS = "agents"


CATALOG_COLUMNS = (
    "name",
    "deleted",
    "action",
    "event",
    "status",
    "action_pipe",
    "event_pipe",
    "tags",
    "created_by",
    "created_at",
    "first_event_at",
    "updated_at",
)


# Statements built once, with bound parameters: a combined answer runs these for each
# of up to 25 organizations, and building a select() costs more than running it.
def _org() -> BindParameter[int]:
    return bindparam("org_pk", type_=Integer())


def _catalog_query(table: Table, key: str) -> Select[Any]:
    columns = (table.c[key].label("id"), *(table.c[c] for c in CATALOG_COLUMNS))
    return select(*columns).where(table.c.org_pk == _org())


_CATALOG = {
    EntryKind.AUTOMATIONS: _catalog_query(automations, "automation_id"),
    EntryKind.AGENTS: _catalog_query(t.agents, "agent_id"),
}


def catalog(conn: Connection, kind: EntryKind, org_pk: int) -> dict[str, dict[str, Any]]:
    """Every catalog entry of the organization, by id."""
    result = conn.execute(_CATALOG[kind], {"org_pk": org_pk})
    names = tuple(result.keys())
    # Plain tuples zipped with the names: a third of the cost of RowMapping per row.
    return {row[0]: dict(zip(names, row, strict=True)) for row in result}


def _usage_query(kind: EntryKind, monthly: bool) -> Select[Any]:
    """Usage per entry over a month span, or over up to two day spans."""
    automation = kind is EntryKind.AUTOMATIONS
    if monthly:
        table = automation_jobs_monthly if automation else t.ai_credits_monthly
        where: ColumnElement[bool] = table.c.month.between(
            bindparam("first_month"), bindparam("last_month")
        )
    else:
        table = automation_jobs_daily if automation else t.ai_credits_daily
        where = or_(
            table.c.day.between(bindparam("first_a"), bindparam("last_a")),
            table.c.day.between(bindparam("first_b"), bindparam("last_b")),
        )
    key, figure = ("automation_id", "jobs") if automation else ("agent_id", "credits")
    conditions = [table.c.org_pk == _org(), where]
    if not automation:
        conditions.append(table.c.resource == bindparam("resource", type_=Integer()))
    # A BIGINT sum, not PostgreSQL's NUMERIC (a Decimal per entry costs more than the
    # read); FIGURE_CEILING keeps any sum of a range far inside BIGINT.
    total = cast(func.sum(table.c[figure]), BigInteger)
    return select(table.c[key], total).where(*conditions).group_by(table.c[key])


_USAGE = {(k, monthly): _usage_query(k, monthly) for k in EntryKind for monthly in (False, True)}


def usage(
    conn: Connection, kind: EntryKind, org_pk: int, first_day: str, last_day: str
) -> dict[str, int]:
    """Jobs (automations) or micro-credits (agents) per entry over the days, inclusive.

    Whole calendar months of the range read the monthly rollup (one row per entry and
    month) and only the days of partly covered months the daily one, so a range of
    three whole months reads months x entries rows, not days x entries: the daily and
    monthly rows are written in the same transaction and always agree. A range's whole
    months are consecutive and its partly covered months at most two (its first and
    its last), so two statements of fixed shape cover every range; they run on the
    driver's cursor (``storage/driver_rows.py``): a cold listing reads thousands of rows.
    """
    spans, months = split_range(date.fromisoformat(first_day), date.fromisoformat(last_day))
    base: dict[str, Any] = {"org_pk": org_pk, "resource": int(AiResource.AI_AUTOMATION)}
    parts: list[tuple[Select[Any], dict[str, Any]]] = []
    if spans:
        (a, b), (c, d) = spans[0], spans[-1]
        days = {"first_a": a, "last_a": b, "first_b": c, "last_b": d}
        parts.append((_USAGE[kind, False], {**base, **{k: v.isoformat() for k, v in days.items()}}))
    if months:
        parts.append(
            (_USAGE[kind, True], {**base, "first_month": months[0], "last_month": months[-1]})
        )
    totals: dict[str, int] = {}
    for statement, params in parts:
        for entry, total in fetch_rows(conn, statement, params):
            totals[entry] = totals.get(entry, 0) + int(total)
    return totals


def split_range(first: date, last: date) -> tuple[list[tuple[date, date]], list[str]]:
    """The day spans of ``[first, last]`` in months it covers only partly, and the
    months (``YYYY-MM``) it covers whole."""
    spans: list[tuple[date, date]] = []
    months: list[str] = []
    start = first
    while start <= last:
        month_end = date(start.year, start.month, monthrange(start.year, start.month)[1])
        end = min(month_end, last)
        if start.day == 1 and end == month_end:
            months.append(start.isoformat()[:7])
        else:
            spans.append((start, end))
        start = end + timedelta(days=1)
    return spans, months


_PIPES = select(pipes.c.pipe_id, pipes.c.uuid, pipes.c.name, pipes.c.icon, pipes.c.color).where(
    pipes.c.org_pk == _org()
)


PipesById = dict[str, tuple[str, str, str | None, str | None]]
"""pipe id -> (uuid, name, icon, color)."""


def pipes_of(conn: Connection, org_pk: int) -> PipesById:
    """pipe id -> (uuid, name, icon, color)."""
    rows = conn.execute(_PIPES, {"org_pk": org_pk})
    return {pipe_id: (u, name, icon, color) for pipe_id, u, name, icon, color in rows}


_CREATORS = select(t.users.c.email, t.users.c.name).where(
    t.users.c.email.in_(bindparam("emails", expanding=True))
)


def creator_names(conn: Connection, emails: Collection[str]) -> dict[str, str]:
    """e-mail -> the user's name."""
    if not emails:
        return {}
    rows = conn.execute(_CREATORS, {"emails": sorted(emails)})
    return {str(email): str(name) for email, name in rows}
