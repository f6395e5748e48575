"""``aiCreditUsageStats`` and ``aiCreditUsageStatsCombined``.

Credits travel as exact integer micro-credits up to here and become floats only in the
response (``micro_to_float``), so every figure is the float nearest the exact sum.
"""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.access.policy import Action
from tallyboard.api.context import RequestContext
from tallyboard.api.graphql import arguments
from tallyboard.domain.credits import micro_to_float
from tallyboard.domain.periods import PeriodWindow, resolve_period
from tallyboard.stats.ai_credits import OrgAiCredits
from tallyboard.stats.scope import combined_scope

__all__ = ["bind"]


def filter_date(window: PeriodWindow) -> dict[str, Any]:
    return {"from": window.start, "to": window.end}


def _credits(micro: int | None) -> float | None:
    return None if micro is None else micro_to_float(micro)


def _resources(credits: OrgAiCredits) -> dict[str, Any]:
    return {
        "aiAutomation": {
            "usage": micro_to_float(credits.automation),
            "enabled": credits.automation_enabled,
        },
        "assistants": {
            "usage": micro_to_float(credits.assistants),
            "enabled": credits.assistants_enabled,
        },
    }


def resolve_ai_credit_usage_stats(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuid: str, period: str
) -> dict[str, Any]:
    ctx = info.context
    uuid = arguments.organization_uuid(organizationUuid)
    window = resolve_period(arguments.period(period), ctx.services.clock.now())
    org = ctx.services.policy.require(ctx.principal, Action.VIEW_AI_CREDIT_DETAILS, uuid)
    details = ctx.services.ai_credits.for_organization(org, window)
    credits = details.credits
    free = None
    if credits.free_allotment is not None:
        free = {
            "limit": micro_to_float(credits.free_allotment),
            "usage": micro_to_float(min(credits.usage, credits.free_allotment)),
        }
    return {
        "active": credits.automation_enabled or credits.assistants_enabled,
        "usage": micro_to_float(credits.usage),
        "limit": _credits(credits.limit),
        "hasAddon": credits.has_addon,
        "filterDate": filter_date(window),
        "updatedAt": details.updated_at,
        **_resources(credits),
        "freeAiCredit": free,
    }


def resolve_ai_credit_usage_stats_combined(
    _: None,
    info: GraphQLResolveInfo[RequestContext],
    organizationUuids: list[str],
    period: str,
) -> dict[str, Any]:
    ctx = info.context
    services = ctx.services
    uuids = arguments.organization_uuids(organizationUuids, services.max_org_uuids)
    window = resolve_period(arguments.period(period), services.clock.now())
    # Authorization first: only permitted organizations ever reach the cache.
    scope = combined_scope(services.policy, ctx.principal, uuids, Action.VIEW_USAGE_STATS)
    combined = services.ai_credits.combined(scope, window)
    return {
        "total": {
            "usage": micro_to_float(combined.usage),
            "limit": _credits(combined.limit),
            "aiAutomationUsage": micro_to_float(combined.automation),
            "assistantsUsage": micro_to_float(combined.assistants),
        },
        "byOrganization": [
            {
                "organizationUuid": org.uuid,
                "organizationName": org.name,
                "usage": micro_to_float(credits.usage),
                "limit": _credits(credits.limit),
                "hasAddon": credits.has_addon,
                **_resources(credits),
            }
            for org, credits in combined.rows
        ],
        "topAgents": [
            {
                "agentId": top.agent.agent_id,
                "agentName": top.agent.name,
                "organizationUuid": top.org.uuid,
                "organizationName": top.org.name,
                "creditsProcessed": micro_to_float(top.agent.micro),
            }
            for top in combined.top_agents
        ],
        "filterDate": filter_date(window),
        "partial": combined.partial,
    }


def bind(query: QueryType) -> None:
    query.set_field("aiCreditUsageStats", resolve_ai_credit_usage_stats)
    query.set_field("aiCreditUsageStatsCombined", resolve_ai_credit_usage_stats_combined)
