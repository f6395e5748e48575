"""Reads of the integration rollups and the flow catalog, one organization at a time.

Totals and per-flow usage come from the monthly rollup (periods are whole months),
series from the daily totals; both are bounded by flows x months or by days, never by
the number of runs (decision 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t

__all__ = [
    "FlowRecord",
    "flows_with_usage",
    "period_totals",
    "tasks_by_day",
    "tasks_by_month",
]


@dataclass(frozen=True, slots=True)
class FlowRecord:
    """A flow known to the organization, with its usage over the requested months.

    ``name``/``status`` are None for a flow known only from its usage (no catalog row).
    """

    flow_id: str
    name: str | None
    status: str | None
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


def flows_with_usage(conn: Connection, org_pk: int, months: Sequence[str]) -> list[FlowRecord]:
    """Every flow of the organization -- from its catalog or its usage in any month --
    with its usage over ``months`` (zero when it did not run)."""
    f, p, fu = t.flows, t.projects, t.flow_usage_monthly
    usage: dict[str, tuple[int, int, int]] = {
        flow_id: (int(tasks), int(runs), int(last))
        for flow_id, tasks, runs, last in conn.execute(
            select(
                fu.c.flow_id, func.sum(fu.c.tasks), func.sum(fu.c.runs), func.max(fu.c.last_run_at)
            )
            .where(fu.c.org_pk == org_pk, fu.c.month.in_(list(months)))
            .group_by(fu.c.flow_id)
        )
    }
    catalog = conn.execute(
        select(f.c.flow_id, f.c.name, f.c.status, p.c.name, p.c.icon, p.c.color)
        .select_from(f)
        .outerjoin(p, and_(p.c.org_pk == f.c.org_pk, p.c.project_id == f.c.project_id))
        .where(f.c.org_pk == org_pk)
    ).all()
    # Flows whose usage arrived without a catalog entry (e.g. events without names).
    uncatalogued = conn.execute(
        select(fu.c.flow_id)
        .distinct()
        .where(
            fu.c.org_pk == org_pk,
            ~select(f.c.flow_id).where(f.c.org_pk == org_pk, f.c.flow_id == fu.c.flow_id).exists(),
        )
    ).scalars()

    def record(
        flow_id: str,
        name: str | None,
        status: str | None,
        project_name: str | None,
        project_icon: str | None,
        project_color: str | None,
    ) -> FlowRecord:
        tasks, runs, last = usage.get(flow_id, (0, 0, 0))
        return FlowRecord(
            flow_id,
            name,
            status,
            project_name,
            project_icon,
            project_color,
            tasks,
            runs,
            last if runs > 0 else None,
        )

    records = [record(*row) for row in catalog]
    records += [record(flow_id, None, None, None, None, None) for flow_id in uncatalogued]
    return records
