"""``apiUsageStats`` (and ``apiUsageStatsGroupedBy``), ``apiUsageStatsDaily`` and
``apiUsageStatsCombined``."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from tallyboard.access.policy import Action
from tallyboard.api.context import RequestContext
from tallyboard.api.graphql import arguments
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import PeriodWindow
from tallyboard.domain.usage import ApiDimension
from tallyboard.stats.api_usage import CombinedApiUsage
from tallyboard.stats.scope import combined_scope

__all__ = ["bind"]

_DIMENSIONS = {
    "operation_name": ApiDimension.OPERATION_NAME,
    "token": ApiDimension.TOKEN,
}

_combined = ObjectType("APIUsageStatsCombined")


def _dimension(value: str | None) -> ApiDimension | None:
    if value is None:
        return None
    try:
        return _DIMENSIONS[value]
    except KeyError:  # the schema's enum already refuses anything else
        raise InvalidInputError([Problem("dimension", f"unknown dimension {value!r}")]) from None


def _filter_date(window: PeriodWindow) -> dict[str, Any]:
    return {"from": window.start, "to": window.end}


def resolve_api_usage_stats(
    _: None,
    info: GraphQLResolveInfo[RequestContext],
    organizationUuid: str,
    period: str,
    dimension: str | None = None,
) -> dict[str, Any]:
    ctx = info.context
    org_uuid = arguments.organization_uuid(organizationUuid)
    org = ctx.queries.policy.require(ctx.principal, Action.VIEW_USAGE_STATS, org_uuid)
    service = ctx.queries.api_usage
    window = service.window(arguments.period(period))
    summary = service.summary(org, window, _dimension(dimension))
    return {
        "data": [{"dimension": i.dimension, "metric": i.metric} for i in summary.items],
        "filterDate": _filter_date(window),
        "limit": summary.limit,
    }


def resolve_api_usage_stats_daily(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> dict[str, Any]:
    ctx = info.context
    org_uuid = arguments.organization_uuid(organizationUuid)
    org = ctx.queries.policy.require(ctx.principal, Action.VIEW_USAGE_STATS, org_uuid)
    service = ctx.queries.api_usage
    window = service.window(arguments.period(period))
    return {
        "data": [
            {"date": i.day.isoformat(), "metric": i.metric} for i in service.daily(org, window)
        ],
        "filterDate": _filter_date(window),
    }


def resolve_api_usage_stats_combined(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuids: list[str], period: str
) -> dict[str, Any]:
    ctx = info.context
    uuids = arguments.organization_uuids(organizationUuids, ctx.queries.max_org_uuids)
    scope = combined_scope(ctx.queries.policy, ctx.principal, uuids, Action.VIEW_USAGE_STATS)
    service = ctx.queries.api_usage
    window = service.window(arguments.period(period))
    combined = service.combined(scope, window)
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
        "filterDate": _filter_date(window),
        "partial": combined.partial,
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
        for item in combined.top_items(_dimension(dimension))
    ]


def bind(query: QueryType) -> list[ObjectType]:
    """Bind the root fields; returns the object types the schema must also bind."""
    query.set_field("apiUsageStats", resolve_api_usage_stats)
    query.set_field("apiUsageStatsGroupedBy", resolve_api_usage_stats)
    query.set_field("apiUsageStatsDaily", resolve_api_usage_stats_daily)
    query.set_field("apiUsageStatsCombined", resolve_api_usage_stats_combined)
    return [_combined]
