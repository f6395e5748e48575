"""The combined AI-credit answer is reused exactly while its figures are unchanged
(decision 0009), now held by ``AiCreditStatistics`` on the one cache primitive."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tallyboard.cache.memory import MemoryCache
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Period, PeriodWindow, resolve_period
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.ai_credits import AiCreditStatistics, CombinedAiCredits, OrgAiCredits
from tallyboard.stats.scope import CombinedScope

A = OrgRef(1, "1", "00000000-0000-4000-8000-00000000000a", "A")
B = OrgRef(2, "2", "00000000-0000-4000-8000-00000000000b", "B")
NOW = datetime(2026, 11, 21, tzinfo=UTC)
NOV = resolve_period(Period.CURRENT_MONTH, NOW)
LABEL = "aiCreditUsageStatsCombined"


class Counted(AiCreditStatistics):
    """Figures from memory instead of the database; counts what it computes."""

    def __init__(self, cache: PerOrgCache, metrics: Metrics) -> None:
        super().__init__(None, None, cache, FixedClock(NOW), metrics)  # type: ignore[arg-type]
        self.computed: list[int] = []
        self.automation = 5

    def compute(self, orgs: Sequence[OrgRef], window: PeriodWindow) -> dict[int, OrgAiCredits]:
        self.computed += [org.pk for org in orgs]
        return {
            org.pk: OrgAiCredits(self.automation, 0, None, False, True, True, None, ())
            for org in orgs
        }


def test_an_answer_is_built_once_per_set_of_figures_and_counted_per_computed_org() -> None:
    clock = [0.0]
    metrics = Metrics()
    cache = PerOrgCache(MemoryCache(now=lambda: clock[0]), metrics, ttl=60, jitter=0)
    stats = Counted(cache, metrics)
    builds: list[CombinedAiCredits] = []

    def build(combined: CombinedAiCredits) -> dict[str, Any]:
        builds.append(combined)
        return {"usage": combined.usage, "orgs": [o.name for o, _ in combined.rows]}

    scope = CombinedScope((A, B), partial=True)
    first = stats.combined_answer(scope, NOV, build, label=LABEL)
    assert first == {"usage": 10, "orgs": ["A", "B"]}
    assert stats.combined_answer(scope, NOV, build, label=LABEL) is first
    assert (len(builds), stats.computed) == (1, [1, 2])
    sample = metrics.registry.get_sample_value("tallyboard_stats_queries_total", {"query": LABEL})
    assert sample == 2

    # Another scope (here: not partial) is another answer over the same entries.
    assert stats.combined_answer(CombinedScope((A, B), False), NOV, build, label=LABEL) == first
    assert (len(builds), stats.computed) == (2, [1, 2])

    # Entries expired and recomputed with other figures: a new answer.
    clock[0] = 61
    stats.automation = 7
    assert stats.combined_answer(scope, NOV, build, label=LABEL)["usage"] == 14
    assert (len(builds), stats.computed) == (3, [1, 2, 1, 2])
