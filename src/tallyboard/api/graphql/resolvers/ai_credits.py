"""``aiCreditUsageStats`` and ``aiCreditUsageStatsCombined``.

Credits travel as exact integer micro-credits up to here and become floats only in the
response (``micro_to_float``), so every figure is the float nearest the exact sum.
"""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.api.graphql.resolvers.shapes import filter_date
from tallyboard.domain.credits import micro_to_float
from tallyboard.stats.ai_credits import CombinedAiCredits, OrgAiCredits
from tallyboard.stats.inputs import CombinedInput, OrganizationInput

__all__ = ["bind"]


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
    request = OrganizationInput.parse(organizationUuid, period)
    result = ctx.queries.ai_credit_details(ctx.principal, request, label="aiCreditUsageStats")
    details = result.value
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
        "filterDate": filter_date(result.window),
        "final": result.final,
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
    request = CombinedInput.parse(organizationUuids, period, limit=ctx.queries.max_org_uuids)
    result = ctx.queries.ai_credits_combined(
        ctx.principal, request, _combined_answer, label="aiCreditUsageStatsCombined"
    )
    return {**result.value, "final": result.final}


def _combined_answer(combined: CombinedAiCredits) -> dict[str, Any]:
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
        "filterDate": filter_date(combined.window),
        "partial": combined.partial,
    }


def bind(query: QueryType) -> None:
    query.set_field("aiCreditUsageStats", resolve_ai_credit_usage_stats)
    query.set_field("aiCreditUsageStatsCombined", resolve_ai_credit_usage_stats_combined)
