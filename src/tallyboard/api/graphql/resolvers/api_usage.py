"""``apiUsageStats`` (and ``apiUsageStatsGroupedBy``), ``apiUsageStatsDaily`` and
``apiUsageStatsCombined``."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.api.graphql.resolvers.shapes import filter_date
from tallyboard.stats.api_usage import CombinedApiUsage
from tallyboard.stats.inputs import ApiUsageInput, CombinedInput, OrganizationInput

__all__ = ["bind"]

_combined = ObjectType("APIUsageStatsCombined")


def resolve_api_usage_stats(
    _: None,
    info: GraphQLResolveInfo[RequestContext],
    organizationUuid: str,
    period: str,
    dimension: str | None = None,
) -> dict[str, Any]:
    ctx = info.context
    request = ApiUsageInput.parse(organizationUuid, period, dimension)
    result = ctx.queries.api_usage_summary(ctx.principal, request, label="apiUsageStats")
    return {
        "data": [{"dimension": i.dimension, "metric": i.metric} for i in result.value.items],
        "filterDate": filter_date(result.window),
        "limit": result.value.limit,
        "final": result.final,
    }


def resolve_api_usage_stats_daily(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> dict[str, Any]:
    ctx = info.context
    request = OrganizationInput.parse(organizationUuid, period)
    result = ctx.queries.api_usage_daily(ctx.principal, request, label="apiUsageStatsDaily")
    return {
        "data": [{"date": i.day.isoformat(), "metric": i.metric} for i in result.value],
        "filterDate": filter_date(result.window),
        "final": result.final,
    }


def resolve_api_usage_stats_combined(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuids: list[str], period: str
) -> dict[str, Any]:
    ctx = info.context
    request = CombinedInput.parse(organizationUuids, period, limit=ctx.queries.max_org_uuids)
    result = ctx.queries.api_usage_combined(ctx.principal, request, label="apiUsageStatsCombined")
    combined = result.value
    return {
        "total": {"usage": combined.usage, "limit": combined.limit},
        "byOrganization": [
            {
                "organizationUuid": o.organization.uuid,
                "organizationName": o.organization.name,
                "usage": o.total,
                "limit": o.limit,
            }
            for o in combined.organizations
        ],
        "filterDate": filter_date(result.window),
        "partial": combined.partial,
        "final": result.final,
        "_combined": combined,
    }


@_combined.field("topItems")
def resolve_top_items(
    parent: dict[str, Any], _: GraphQLResolveInfo[RequestContext], dimension: str | None = None
) -> list[dict[str, Any]]:
    combined: CombinedApiUsage = parent["_combined"]
    return [
        {
            "dimension": item.dimension,
            "metric": item.metric,
            "organizationUuid": item.organization.uuid,
            "organizationName": item.organization.name,
        }
        for item in combined.top_items(ApiUsageInput.parse_dimension(dimension))
    ]


def bind(query: QueryType) -> list[ObjectType]:
    """Bind the root fields; returns the object types the schema must also bind."""
    query.set_field("apiUsageStats", resolve_api_usage_stats)
    query.set_field("apiUsageStatsGroupedBy", resolve_api_usage_stats)
    query.set_field("apiUsageStatsDaily", resolve_api_usage_stats_daily)
    query.set_field("apiUsageStatsCombined", resolve_api_usage_stats_combined)
    return [_combined]
