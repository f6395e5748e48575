"""``usageAlerts`` and ``usageForecast`` (spec §10): figures printed in the contract's
units (credits from micro-credits, ``domain/alerts.amount``), times as ``DateTime``."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.domain.alerts import amount, resource_named
from tallyboard.stats.alerts import ms_to_datetime
from tallyboard.stats.inputs import OrganizationInput, OrganizationOnlyInput

__all__ = ["bind"]


def _alert(alert: Any) -> dict[str, Any]:
    resource = resource_named(alert.resource)
    return {
        "id": alert.id,
        "type": alert.type,
        "resource": alert.resource,
        "month": alert.month,
        "threshold": alert.threshold,
        "usage": amount(resource, alert.usage),
        "limit": amount(resource, alert.allowance),
        "projectedUsage": amount(resource, alert.projected_usage),
        "projectedExhaustionAt": ms_to_datetime(alert.projected_exhaustion_at),
        "createdAt": ms_to_datetime(alert.created_at),
    }


def resolve_usage_alerts(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> list[dict[str, Any]]:
    ctx = info.context
    request = OrganizationInput.parse(organizationUuid, period)
    result = ctx.queries.usage_alerts(ctx.principal, request, label="usageAlerts")
    return [_alert(alert) for alert in result.value]


def resolve_usage_forecast(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str
) -> dict[str, Any]:
    ctx = info.context
    request = OrganizationOnlyInput.parse(organizationUuid)
    forecast = ctx.queries.usage_forecast(ctx.principal, request, label="usageForecast")
    return {
        "month": str(forecast.month),
        "resources": [
            {
                "resource": item.resource.name,
                "usage": amount(item.resource, item.usage),
                "limit": amount(item.resource, item.limit),
                "projectedUsage": amount(item.resource, item.projected_usage),
                "projectedExhaustionAt": item.projected_exhaustion_at,
            }
            for item in forecast.resources
        ],
    }


def bind(query: QueryType) -> None:
    query.set_field("usageAlerts", resolve_usage_alerts)
    query.set_field("usageForecast", resolve_usage_forecast)
