"""``integrationsUsageStats`` and ``integrationsUsageDetails``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.api.graphql.resolvers.shapes import filter_date
from tallyboard.stats.flow_listing import FlowRow
from tallyboard.stats.inputs import FlowDetailsInput, OrganizationInput

__all__ = ["bind"]


def resolve_integrations_usage_stats(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> dict[str, Any]:
    ctx = info.context
    request = OrganizationInput.parse(organizationUuid, period)
    result = ctx.queries.integration_summary(ctx.principal, request, label="integrationsUsageStats")
    summary = result.value
    return {
        "tasksConsumed": {"usage": summary.tasks, "limit": summary.limit},
        "activeFlows": summary.active_flows,
        "filterDate": filter_date(result.window),
        "final": result.final,
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


def _either(sort: dict[str, Any] | None, name: str, synonym: str) -> Any:
    """``SortCriteria`` synonyms (spec §9): ``by``/``order`` win over ``field``/``direction``."""
    sort = sort or {}
    return sort.get(name) if sort.get(name) is not None else sort.get(synonym)


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
    request = FlowDetailsInput.parse(
        organizationUuid,
        period,
        status=status,
        search=search,
        sort_by=_either(sort, "by", "field"),
        sort_order=_either(sort, "order", "direction"),
        first=first,
        after=after,
        cursors=ctx.queries.cursors,
    )
    result = ctx.queries.integration_details(
        ctx.principal, request, label="integrationsUsageDetails"
    )
    details = result.value
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
        "filterDate": filter_date(result.window),
        "final": result.final,
    }


def bind(query: QueryType) -> None:
    query.set_field("integrationsUsageStats", resolve_integrations_usage_stats)
    query.set_field("integrationsUsageDetails", resolve_integrations_usage_details)
