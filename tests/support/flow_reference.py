"""Test-only reference models of the flow listing (moved out of ``src``).

The product pages flows one way (``stats.flow_listing.cut``, or the same page cut in
SQL by ``storage.integration_reader.flow_page``). These are the slow, obvious
versions the tests hold it against: row objects filtered and ordered directly, and
the organization's flows assembled from separate statements.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from tallyboard.stats.flow_listing import (
    FlowFilter,
    FlowPage,
    FlowRow,
    FlowSort,
    Position,
    cut,
)
from tallyboard.storage import tables as t
from tallyboard.storage.integration_reader import FlowRecord

__all__ = ["flows_with_usage", "matches", "ordered", "paginate"]


def ordered(sort: FlowSort, rows: Iterable[FlowRow]) -> list[FlowRow]:
    """Two stable sorts: by id, then by value (reversed when descending). Equal values
    keep the id order either way, so ties are always id ascending."""
    result = sorted(rows, key=lambda r: r.id)
    result.sort(key=sort.value, reverse=sort.descending)
    return result


def matches(flow_filter: FlowFilter, row: FlowRow) -> bool:
    if flow_filter.status is not None and row.status != flow_filter.status:
        return False
    if flow_filter.search is None:
        return True
    if flow_filter.search in row.name.casefold():
        return True
    return row.project is not None and flow_filter.search in row.project.name.casefold()


def paginate(
    rows: Sequence[FlowRow],
    flow_filter: FlowFilter,
    sort: FlowSort,
    first: int,
    after: Position | None,
) -> FlowPage:
    """:func:`~tallyboard.stats.flow_listing.cut` over row objects."""
    keys = [
        (row.id, row.name, row.status, None if row.project is None else row.project.name, row.tasks)
        for row in rows
    ]
    found = cut(keys, flow_filter, sort, first, after)
    return FlowPage(
        rows=tuple(rows[i] for i in found.indices),
        has_next=found.has_next,
        has_previous=found.has_previous,
        total_flows=found.total_flows,
        total_tasks=found.total_tasks,
    )


def flows_with_usage(conn: Connection, org_pk: int, months: Sequence[str]) -> list[FlowRecord]:
    """Every flow of the organization -- from its catalog or its usage in any month --
    with its usage over ``months`` (zero when it did not run): three plain statements
    joined in Python, independent of the reader's single listing statement."""
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
            (status or "ENABLED").upper(),
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
