"""``aiCreditUsageStats`` and ``aiCreditUsageStatsCombined``.

Credits travel as exact integer micro-credits up to here and become floats only in the
response (``micro_to_float``), so every figure is the float nearest the exact sum.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.access.policy import Action
from tallyboard.api.context import RequestContext
from tallyboard.api.graphql import arguments
from tallyboard.domain.credits import micro_to_float
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow, resolve_period
from tallyboard.stats.ai_credits import CACHE_KIND, CombinedAiCredits, OrgAiCredits
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
    window = resolve_period(arguments.period(period), ctx.queries.clock.now())
    org = ctx.queries.policy.require(ctx.principal, Action.VIEW_AI_CREDIT_DETAILS, uuid)
    details = ctx.queries.ai_credits.for_organization(org, window)
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
    services = ctx.queries
    uuids = arguments.organization_uuids(organizationUuids, services.max_org_uuids)
    window = resolve_period(arguments.period(period), services.clock.now())
    # Authorization first: only permitted organizations ever reach the cache.
    scope = combined_scope(services.policy, ctx.principal, uuids, Action.VIEW_USAGE_STATS)
    if scope.organizations:
        # Every permitted organization's entry unchanged since it was last read: the
        # answer built from those very figures still stands (decision 0009).
        figures = services.stats_cache.peek(CACHE_KIND, scope.organizations, window)
        if figures is not None:
            answer = _answers.lookup(window, scope.partial, scope.organizations, figures)
            if answer is not None:
                return answer
    combined = services.ai_credits.combined(scope, window)
    return _answers.get(combined, _combined_answer)


def _combined_answer(combined: CombinedAiCredits) -> dict[str, Any]:
    window = combined.window
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


class _AnswerMemo:
    """The last answers built from unchanged cached figures (decision 0009).

    While an organization's cache entry lives, the per-organization cache hands out the
    same decoded :class:`OrgAiCredits` object, so an answer built from the same objects
    (checked by identity; the memo holds them, so their ids cannot be reused), for the
    same organizations as authorized now (names included) and the same window, is the
    same answer. Authorization and the cache read still happen on every request.
    Entries are keyed by window and organizations and hold the last figures they were
    built from, which lookups compare by identity.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._answers: dict[tuple[Any, ...], tuple[tuple[OrgAiCredits, ...], dict[str, Any]]] = {}

    def lookup(
        self,
        window: PeriodWindow,
        partial: bool,
        orgs: Sequence[OrgRef],
        figures: Mapping[int, OrgAiCredits],
    ) -> dict[str, Any] | None:
        """The answer built from exactly these figures for these organizations, if any."""
        ordered = tuple(figures[org.pk] for org in orgs)
        found = self._answers.get((window, partial, tuple(orgs)))
        if found is not None and all(a is b for a, b in zip(found[0], ordered, strict=True)):
            return found[1]
        return None

    def get(
        self,
        combined: CombinedAiCredits,
        build: Callable[[CombinedAiCredits], dict[str, Any]],
    ) -> dict[str, Any]:
        orgs = tuple(org for org, _ in combined.rows)
        figures = {org.pk: credits for org, credits in combined.rows}
        found = self.lookup(combined.window, combined.partial, orgs, figures)
        if found is not None:
            return found
        # One entry per (window, organizations): a refill replaces it, so a stream of
        # cache misses cannot fill the memo with answers nobody can hit again (each
        # would keep hundreds of objects alive for the collector to walk).
        key = (combined.window, combined.partial, orgs)
        answer = build(combined)
        if key not in self._answers and len(self._answers) >= self._size:
            self._answers.clear()
        self._answers[key] = (tuple(credits for _, credits in combined.rows), answer)
        return answer


_answers = _AnswerMemo()


def bind(query: QueryType) -> None:
    query.set_field("aiCreditUsageStats", resolve_ai_credit_usage_stats)
    query.set_field("aiCreditUsageStatsCombined", resolve_ai_credit_usage_stats_combined)
