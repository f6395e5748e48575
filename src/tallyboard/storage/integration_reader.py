"""Reads of the integration rollups and the flow catalog, one organization at a time.

Totals and per-flow usage come from the monthly rollup (periods are whole months),
series from the daily totals; both are bounded by flows x months or by days, never by
the number of runs (decision 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    case,
    distinct,
    func,
    literal,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t

__all__ = [
    "DEFAULT_STATUS",
    "FlowRecord",
    "FlowRecordPage",
    "flow_page",
    "flow_records",
    "period_totals",
    "record",
    "tasks_by_day",
    "tasks_by_month",
]


DEFAULT_STATUS = "ENABLED"
"""The status of a flow the catalog does not know (spec §4)."""


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A flow known to the organization, with its usage over the requested months.

    ``name`` is None for a flow known only from its usage (no catalog row); ``status``
    is upper-cased, and ENABLED for such a flow (spec §4: the one place of that rule).
    """

    flow_id: str
    name: str | None
    status: str
    project_name: str | None
    project_icon: str | None
    project_color: str | None
    tasks: int
    runs: int
    last_run_at: int | None
    """Epoch seconds of the latest run in the months, None when it did not run."""


def period_totals(conn: Connection, org_pk: int, months: Sequence[str]) -> tuple[int, int]:
    """(tasks consumed, distinct flows with at least one run) over ``months``."""
    fu = t.flow_usage_monthly
    row = conn.execute(
        select(func.coalesce(func.sum(fu.c.tasks), 0), func.count(distinct(fu.c.flow_id))).where(
            fu.c.org_pk == org_pk, fu.c.month.in_(list(months)), fu.c.runs > 0
        )
    ).one()
    return int(row[0]), int(row[1])


def tasks_by_day(conn: Connection, org_pk: int, first_day: str, last_day: str) -> dict[str, int]:
    """Tasks per ``YYYY-MM-DD`` day between two days (inclusive); days without runs absent."""
    tu = t.task_usage_daily
    rows = conn.execute(
        select(tu.c.day, tu.c.tasks).where(
            tu.c.org_pk == org_pk, tu.c.day >= first_day, tu.c.day <= last_day
        )
    )
    return {day: int(tasks) for day, tasks in rows}


def tasks_by_month(conn: Connection, org_pk: int, months: Sequence[str]) -> dict[str, int]:
    fu = t.flow_usage_monthly
    rows = conn.execute(
        select(fu.c.month, func.sum(fu.c.tasks))
        .where(fu.c.org_pk == org_pk, fu.c.month.in_(list(months)))
        .group_by(fu.c.month)
    )
    return {month: int(tasks) for month, tasks in rows}


@dataclass(frozen=True, slots=True)
class FlowRecordPage:
    records: list[FlowRecord]
    total_flows: int
    total_tasks: int
    has_next: bool
    has_previous: bool


def flow_page(
    conn: Connection,
    org_pk: int,
    months: Sequence[str],
    *,
    status: str | None,
    by_status: bool,
    descending: bool,
    first: int,
    after: tuple[str | int, str] | None,
) -> FlowRecordPage:
    """One page of :func:`flow_records`, ordered and cut in SQL (keyset pagination).

    Only for orders SQL reproduces exactly: by tasks or by upper-cased status (ASCII),
    ties by flow id in byte order, without a name search (the case-folding of names
    stays in Python, ``stats.flow_listing.cut``). The set of flows, the status filter,
    the totals and both page flags are the same as :func:`flow_records` cut by
    ``stats.flow_listing.cut`` (tests/integration/test_integration_reader.py).
    """
    listing = _listing(org_pk, months)
    flow_id, tasks, flow_status, joined = (
        listing.flow_id,
        listing.tasks,
        listing.status,
        listing.joined,
    )
    matching: list[ColumnElement[bool]] = []
    if status is not None:
        matching.append(flow_status == status)
    value: ColumnElement[Any] = flow_status if by_status else tasks
    beyond: ColumnElement[bool] | None = None
    if after is not None:
        after_value, after_id = after
        ahead = value < after_value if descending else value > after_value
        beyond = or_(ahead, and_(value == after_value, flow_id > after_id))
    counted = case((beyond, 1), else_=0) if beyond is not None else literal(1)
    total_flows, total_tasks, after_count = conn.execute(
        select(func.count(), func.coalesce(func.sum(tasks), 0), func.coalesce(func.sum(counted), 0))
        .select_from(joined)
        .where(*matching)
    ).one()
    page_query = (
        select(*_columns(listing))
        .select_from(listing.with_projects)
        .where(*matching, *([beyond] if beyond is not None else []))
        .order_by(value.desc() if descending else value.asc(), flow_id.asc())
        .limit(first)
    )
    records = [record(row) for row in conn.execute(page_query)]
    after_count = int(after_count)
    return FlowRecordPage(
        records=records,
        total_flows=int(total_flows),
        total_tasks=int(total_tasks),
        has_next=after_count > first,
        has_previous=int(total_flows) - after_count > 0,
    )


@dataclass(frozen=True, slots=True)
class _Listing:
    """Every flow of an organization -- its catalog, plus flows known only from usage
    in any month -- with the catalog fields and the usage over the months: the rows
    both listings read."""

    flow_id: ColumnElement[str]
    name: ColumnElement[str]
    tasks: ColumnElement[int]
    runs: ColumnElement[int]
    last_run_at: ColumnElement[int]
    status: ColumnElement[str]
    joined: FromClause
    with_projects: FromClause


def _listing(org_pk: int, months: Sequence[str]) -> _Listing:
    f, p, fu = t.flows, t.projects, t.flow_usage_monthly
    usage = (
        select(
            fu.c.flow_id.label("flow_id"),
            func.sum(fu.c.tasks).label("tasks"),
            func.sum(fu.c.runs).label("runs"),
            func.max(fu.c.last_run_at).label("last_run_at"),
        )
        .where(fu.c.org_pk == org_pk, fu.c.month.in_(list(months)))
        .group_by(fu.c.flow_id)
        .subquery("usage")
    )
    catalogued = (
        select(
            f.c.flow_id.label("flow_id"),
            f.c.name.label("name"),
            f.c.status.label("status"),
            f.c.project_id.label("project_id"),
            usage.c.tasks,
            usage.c.runs,
            usage.c.last_run_at,
        )
        .select_from(f.outerjoin(usage, usage.c.flow_id == f.c.flow_id))
        .where(f.c.org_pk == org_pk)
    )
    # Flows whose usage arrived without a catalog entry (e.g. events without names).
    orphans = (
        select(fu.c.flow_id.label("flow_id"))
        .distinct()
        .where(
            fu.c.org_pk == org_pk,
            ~select(f.c.flow_id).where(f.c.org_pk == org_pk, f.c.flow_id == fu.c.flow_id).exists(),
        )
        .subquery("orphans")
    )
    uncatalogued = select(
        orphans.c.flow_id,
        null().label("name"),
        null().label("status"),
        null().label("project_id"),
        usage.c.tasks,
        usage.c.runs,
        usage.c.last_run_at,
    ).select_from(orphans.outerjoin(usage, usage.c.flow_id == orphans.c.flow_id))
    known = union_all(catalogued, uncatalogued).subquery("known")
    return _Listing(
        flow_id=known.c.flow_id,
        name=known.c.name,
        tasks=func.coalesce(known.c.tasks, 0),
        runs=func.coalesce(known.c.runs, 0),
        last_run_at=func.coalesce(known.c.last_run_at, 0),
        # A flow known only from its usage is ENABLED until the catalog says otherwise
        # (spec §4): the one place of this rule, for the SQL page and the listing alike.
        status=func.coalesce(func.upper(known.c.status), DEFAULT_STATUS),
        joined=known,
        with_projects=known.outerjoin(
            p, and_(p.c.org_pk == org_pk, p.c.project_id == known.c.project_id)
        ),
    )


def _columns(listing: _Listing) -> tuple[ColumnElement[Any], ...]:
    """The columns of a :class:`FlowRecord`, in its field order."""
    p = t.projects
    return (
        listing.flow_id,
        listing.name,
        listing.status,
        p.c.name,
        p.c.icon,
        p.c.color,
        listing.tasks,
        listing.runs,
        listing.last_run_at,
    )


def record(row: Sequence[Any]) -> FlowRecord:
    """A row of :func:`flow_records` as a record."""
    flow_id, name, status, project_name, icon, color, tasks, runs, last = row
    runs = int(runs)
    return FlowRecord(
        str(flow_id),
        name,
        str(status),
        project_name,
        icon,
        color,
        int(tasks),
        runs,
        int(last) if runs > 0 else None,
    )


def flow_records(conn: Connection, org_pk: int, months: Sequence[str]) -> list[Sequence[Any]]:
    """Every flow of the organization -- from its catalog or its usage in any month --
    with its usage over ``months`` (zero when it did not run), in one statement,
    ordered by flow id (byte order), as plain rows in :class:`FlowRecord` field order:
    the listing filters and orders thousands of them by case-folded names and turns
    only a page into records (:func:`record`)."""
    listing = _listing(org_pk, months)
    return list(
        conn.execute(
            select(*_columns(listing))
            .select_from(listing.with_projects)
            .order_by(listing.flow_id.asc())
        )
    )
