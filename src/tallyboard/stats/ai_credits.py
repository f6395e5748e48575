"""AI-credit statistics: one organization (uncached) and combined (per-org cached).

Amounts stay integer micro-credits until the edge, so sums are exact (0.1 + 0.2 is
0.3). The combined query computes each organization independently -- usage, limit,
flags and its own top 10 agents -- which is what makes per-organization caching
possible: any agent in the combined top 10 is necessarily in its organization's top
10, because the combined order restricted to one organization is that
organization's order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tallyboard.cache.bounded import BoundedCache
from tallyboard.cache.per_org import Codec, PerOrgCache
from tallyboard.domain.clock import Clock
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow
from tallyboard.domain.ranking import top
from tallyboard.domain.usage import AiResource
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.allowances import Allowances
from tallyboard.stats.scope import CombinedScope, per_organization, sum_limits
from tallyboard.storage import ai_credit_reader as reader
from tallyboard.storage.database import Database

__all__ = [
    "CACHE_KIND",
    "TOP_AGENTS",
    "AgentUsage",
    "AiCreditDetails",
    "AiCreditStatistics",
    "CombinedAiCredits",
    "OrgAiCredits",
    "TopAgent",
    "combined_top_agents",
    "org_top_agents",
]

TOP_AGENTS = 10
CACHE_KIND = "ai_credits"

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class AgentUsage:
    agent_id: str
    name: str | None
    micro: int


@dataclass(frozen=True, slots=True)
class OrgAiCredits:
    """One organization's AI-credit figures for a period: what the cache holds.

    Holds no names of the organization (those come fresh from the authorization step)
    and nothing that depends on the caller.
    """

    automation: int
    assistants: int
    limit: int | None
    has_addon: bool
    automation_enabled: bool
    assistants_enabled: bool
    free_allotment: int | None
    top_agents: tuple[AgentUsage, ...]
    """This organization's top agents, at most ``TOP_AGENTS``, best first."""

    @property
    def usage(self) -> int:
        return self.automation + self.assistants

    def to_json(self) -> dict[str, Any]:
        return {
            "automation": self.automation,
            "assistants": self.assistants,
            "limit": self.limit,
            "hasAddon": self.has_addon,
            "automationEnabled": self.automation_enabled,
            "assistantsEnabled": self.assistants_enabled,
            "free": self.free_allotment,
            "agents": [[a.agent_id, a.name, a.micro] for a in self.top_agents],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrgAiCredits:
        return cls(
            automation=int(data["automation"]),
            assistants=int(data["assistants"]),
            limit=None if data["limit"] is None else int(data["limit"]),
            has_addon=bool(data["hasAddon"]),
            automation_enabled=bool(data["automationEnabled"]),
            assistants_enabled=bool(data["assistantsEnabled"]),
            free_allotment=None if data["free"] is None else int(data["free"]),
            top_agents=tuple(AgentUsage(str(a), n, int(m)) for a, n, m in data["agents"]),
        )


_CODEC: Codec[OrgAiCredits] = Codec(dump=OrgAiCredits.to_json, load=OrgAiCredits.from_json)


@dataclass(frozen=True, slots=True)
class AiCreditDetails:
    """``aiCreditUsageStats``: one organization, computed now."""

    window: PeriodWindow
    credits: OrgAiCredits
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class TopAgent:
    org: OrgRef
    agent: AgentUsage


@dataclass(frozen=True, slots=True)
class CombinedAiCredits:
    window: PeriodWindow
    rows: tuple[tuple[OrgRef, OrgAiCredits], ...]
    """Per permitted organization, in the order of the input list."""
    partial: bool
    top_agents: tuple[TopAgent, ...]

    @property
    def automation(self) -> int:
        return sum(c.automation for _, c in self.rows)

    @property
    def assistants(self) -> int:
        return sum(c.assistants for _, c in self.rows)

    @property
    def usage(self) -> int:
        return self.automation + self.assistants

    @property
    def limit(self) -> int | None:
        """Sum of the limits with null as 0; null when every organization's is null."""
        return sum_limits(c.limit for _, c in self.rows)


def org_top_agents(agents: Iterable[AgentUsage]) -> tuple[AgentUsage, ...]:
    """One organization's top agents: credits descending, ties by agent id."""
    return tuple(top(agents, TOP_AGENTS, metric=lambda a: a.micro, labels=lambda a: (a.agent_id,)))


def combined_top_agents(
    rows: Iterable[tuple[OrgRef, Iterable[AgentUsage]]],
) -> tuple[TopAgent, ...]:
    """The top agents across organizations: credits descending, then agent id, then
    organization UUID. Fed each organization's own top list, this equals the top of
    all agents (see the module docstring)."""
    candidates = [TopAgent(org, agent) for org, agents in rows for agent in agents]
    return tuple(
        top(
            candidates,
            TOP_AGENTS,
            metric=lambda t: t.agent.micro,
            labels=lambda t: (t.agent.agent_id, t.org.uuid),
        )
    )


_ANSWERS = 1024
"""Combined answers kept per process for exact reuse (least recently used out first)."""


class AiCreditStatistics:
    """``aiCreditUsageStats`` and ``aiCreditUsageStatsCombined`` over organizations the
    policy already permitted and a window already resolved. ``label`` is the metric
    label the edge counts the request under (``stats_queries``)."""

    def __init__(
        self,
        database: Database,
        allowances: Allowances,
        cache: PerOrgCache,
        clock: Clock,
        metrics: Metrics,
        *,
        reuse_answers: bool = True,
    ) -> None:
        self._db = database
        self._allowances = allowances
        self._cache = cache
        self._clock = clock
        self._metrics = metrics
        self._answers: BoundedCache[tuple[Any, ...], Any] = BoundedCache(
            _ANSWERS if reuse_answers else 0
        )
        """The answer built from one set of decoded cache entries (decision 0009), keyed
        by window, partial and the organizations as authorized now (names included);
        its invalidation key is the figures themselves: while every organization's
        cache entry lives, the per-organization cache hands out the same decoded
        objects, so the same figures mean the same answer. Authorization and the
        cache read still happen on every request."""

    def compute(self, orgs: Sequence[OrgRef], window: PeriodWindow) -> dict[int, OrgAiCredits]:
        """Every organization's figures from the database, in one pass."""
        pks = [org.pk for org in orgs]
        months = [str(m) for m in window.months]
        allowances = self._allowances.for_organizations(pks)
        with self._db.read() as conn:
            by_resource = reader.credits_by_resource(conn, pks, months)
            agents = reader.agent_credits(conn, pks, months)
        agents_by_org: dict[int, list[AgentUsage]] = {pk: [] for pk in pks}
        for row in agents:
            agents_by_org[row.org_pk].append(AgentUsage(row.agent_id, row.name, row.micro))
        result = {}
        for pk in pks:
            settings = allowances[pk].at_end_of(window)
            spent = by_resource.get(pk, {})
            result[pk] = OrgAiCredits(
                automation=spent.get(AiResource.AI_AUTOMATION, 0),
                assistants=spent.get(AiResource.ASSISTANT, 0),
                limit=allowances[pk].limit(window, "ai_credits"),
                has_addon=settings.ai_credit_addon,
                automation_enabled=settings.ai_automation_enabled,
                assistants_enabled=settings.assistants_enabled,
                free_allotment=settings.free_ai_credits,
                top_agents=org_top_agents(agents_by_org[pk]),
            )
        return result

    def for_organization(self, org: OrgRef, window: PeriodWindow, *, label: str) -> AiCreditDetails:
        """``aiCreditUsageStats``: never cached, so it always shows the latest usage."""
        credits = self.compute([org], window)[org.pk]
        self._metrics.stats_queries.labels(label).inc()
        return AiCreditDetails(window=window, credits=credits, updated_at=self._clock.now())

    def combined(
        self, scope: CombinedScope, window: PeriodWindow, *, label: str
    ) -> CombinedAiCredits:
        """``aiCreditUsageStatsCombined`` over an already-authorized scope."""
        counter = self._metrics.stats_queries.labels(label)

        def compute(missing: Sequence[OrgRef]) -> dict[int, OrgAiCredits]:
            computed = self.compute(missing, window)
            counter.inc(len(missing))
            return computed

        rows = per_organization(self._cache, CACHE_KIND, scope, window, compute, _CODEC)
        top_agents = combined_top_agents((org, credits.top_agents) for org, credits in rows)
        return CombinedAiCredits(
            window=window, rows=rows, partial=scope.partial, top_agents=top_agents
        )

    def combined_answer(
        self,
        scope: CombinedScope,
        window: PeriodWindow,
        build: Callable[[CombinedAiCredits], T],
        *,
        label: str,
    ) -> T:
        """``build(self.combined(...))``, reused while its figures are unchanged.

        The cheap path first (decision 0009): when every permitted organization's cache
        entry is exactly the one last decoded, the answer built from those figures
        still stands, without decoding or combining anything."""
        key = (window, scope.partial, scope.organizations)
        if scope.organizations:
            figures = self._cache.peek(CACHE_KIND, scope.organizations, window)
            if figures is not None:
                stamp = tuple(figures[org.pk] for org in scope.organizations)
                answer: T | None = self._answers.get_current(key, stamp)
                if answer is not None:
                    return answer
        combined = self.combined(scope, window, label=label)
        stamp = tuple(credits for _, credits in combined.rows)
        answer = self._answers.get_current(key, stamp)
        if answer is None:
            answer = build(combined)
            self._answers.put_current(key, stamp, answer)
        return answer


AiCreditStats = AiCreditStatistics
"""The old name, kept only until ``api/context.py`` uses the new one (issue 12 merge)."""
