"""``integrationsUsageStats`` and ``integrationsUsageDetails``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.access.policy import Action
from tallyboard.api.context import RequestContext
from tallyboard.api.graphql import arguments
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow, resolve_period
from tallyboard.stats.flow_listing import FlowRow

__all__ = ["bind", "filter_date"]


def filter_date(window: PeriodWindow) -> dict[str, Any]:
    return {"from": window.start, "to": window.end}


def _authorized(
    ctx: RequestContext, organization_uuid: str, period: str
) -> tuple[OrgRef, PeriodWindow]:
    uuid = arguments.organization_uuid(organization_uuid)
    window = resolve_period(arguments.period(period), ctx.queries.clock.now())
    org = ctx.queries.policy.require(ctx.principal, Action.VIEW_USAGE_STATS, uuid)
    return org, window


def resolve_integrations_usage_stats(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> dict[str, Any]:
    ctx = info.context
    org, window = _authorized(ctx, organizationUuid, period)
    summary = ctx.queries.integrations.summary(org, window)
    return {
        "tasksConsumed": {"usage": summary.tasks, "limit": summary.limit},
        "activeFlows": summary.active_flows,
        "filterDate": filter_date(window),
        "history": {
            "nodes": [
                {"date": node.date, "usage": node.usage, "limit": node.limit}
                for node in summary.history
            ]
        },
    }


def _node(row: FlowRow) -> dict[str, Any]:
    project = None
    if row.project is not None:
        project = {"name": row.project.name, "icon": row.project.icon, "color": row.project.color}
    last_run = None
    if row.last_run_at is not None:
        last_run = datetime.fromtimestamp(row.last_run_at, UTC)
    return {
        "id": row.id,
        "name": row.name,
        "project": project,
        "tasks": row.tasks,
        "runs": row.runs,
        "lastRunAt": last_run,
        "status": row.status,
    }


def resolve_integrations_usage_details(
    _: None,
    info: GraphQLResolveInfo[RequestContext],
    organizationUuid: str,
    period: str,
    status: str | None = None,
    search: str | None = None,
    sort: dict[str, Any] | None = None,
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    ctx = info.context
    org, window = _authorized(ctx, organizationUuid, period)
    details = ctx.queries.integrations.details(
        org,
        window,
        status=status,
        search=search,
        sort_by=(sort or {}).get("by"),
        sort_order=(sort or {}).get("order"),
        first=first,
        after=after,
    )
    page = details.page
    edges = [
        {"cursor": cursor, "node": _node(row)}
        for cursor, row in zip(details.cursors, page.rows, strict=True)
    ]
    return {
        "totalFlows": page.total_flows,
        "totalTasks": page.total_tasks,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": page.has_next,
            "hasPreviousPage": page.has_previous,
            "startCursor": details.cursors[0] if details.cursors else None,
            "endCursor": details.cursors[-1] if details.cursors else None,
        },
        "filterDate": filter_date(window),
    }


def bind(query: QueryType) -> None:
    query.set_field("integrationsUsageStats", resolve_integrations_usage_stats)
    query.set_field("integrationsUsageDetails", resolve_integrations_usage_details)
