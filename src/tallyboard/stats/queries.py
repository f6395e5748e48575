"""What the GraphQL resolvers may call: the statistic services and the policy that
guards them, and nothing else (no database, no cache).

The edge receives one ``StatisticsQueries`` from the composition root and hands it to
every resolver through ``RequestContext.queries``.
"""

from __future__ import annotations

from dataclasses import dataclass

from tallyboard.access.policy import Policy
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.domain.clock import Clock
from tallyboard.stats.ai_credits import AiCreditStats
from tallyboard.stats.api_usage import ApiUsageService
from tallyboard.stats.integrations import IntegrationStats

__all__ = ["StatisticsQueries"]


@dataclass(frozen=True, slots=True)
class StatisticsQueries:
    """The read side of the product, as the GraphQL edge sees it."""

    clock: Clock
    policy: Policy
    max_org_uuids: int
    stats_cache: PerOrgCache
    api_usage: ApiUsageService
    integrations: IntegrationStats
    ai_credits: AiCreditStats
