"""What the query-latency section measures: sizes, periods, series, plans and targets."""

from __future__ import annotations

from dataclasses import dataclass

SECTION = "query_latency"
TITLE = "Query latency vs volume"

TARGET_P99_MS = 20.0
TARGET_SPEEDUP = 100.0
NOT_SPECIFIED = "Not specified"
REPRODUCE = ".venv/bin/python -m bench --only query_latency"


@dataclass(frozen=True)
class Tier:
    label: str
    calls: int
    operations: int
    tokens: int
    flows: int
    agents: int
    naive: bool
    """Whether raw rows are loaded for the naive baseline."""


TIERS = (
    Tier("1M", 1_000_000, operations=200, tokens=20, flows=1_000, agents=50, naive=True),
    Tier("10M", 10_000_000, operations=400, tokens=40, flows=3_000, agents=100, naive=True),
    Tier("100M", 100_000_000, operations=800, tokens=80, flows=10_000, agents=200, naive=False),
)
QUICK_TIERS = (Tier("20k", 20_000, operations=40, tokens=6, flows=120, agents=12, naive=True),)
SMALL = Tier("small", 200_000, operations=30, tokens=5, flows=40, agents=8, naive=False)
SMALL_ORGS = 24
PERIODS = ("current_month", "last_3_months")

LATER_PAGE = 5
"""The \"later page\" of integrationsUsageDetails is the page after this many pages."""


@dataclass(frozen=True)
class Series:
    """One measured query shape."""

    key: str
    label: str
    server: str  # "hit" (long cache TTL) or "miss" (1 µs cache TTL)


SERIES = (
    Series("apiUsageStats.top_operations", "apiUsageStats (top 10 operation names)", "hit"),
    Series(
        "apiUsageStats.top_operations.cold",
        "apiUsageStats (top 10 operation names), cold: no answer reuse",
        "miss",
    ),
    Series("apiUsageStats.total", "apiUsageStats (total, no dimension)", "hit"),
    Series("apiUsageStatsGroupedBy.token", "apiUsageStatsGroupedBy (top 10 tokens)", "hit"),
    Series("apiUsageStatsDaily", "apiUsageStatsDaily", "hit"),
    Series("apiUsageStatsCombined.hit", "apiUsageStatsCombined, 25 orgs, cache hit", "hit"),
    Series("apiUsageStatsCombined.miss", "apiUsageStatsCombined, 25 orgs, cache miss", "miss"),
    Series("integrationsUsageStats", "integrationsUsageStats", "hit"),
    Series(
        "integrationsUsageDetails.first",
        "integrationsUsageDetails, first page (usage desc, 20)",
        "hit",
    ),
    Series(
        "integrationsUsageDetails.first.cold",
        "integrationsUsageDetails, first page (usage desc, 20), cold: no answer reuse",
        "miss",
    ),
    Series(
        "integrationsUsageDetails.later",
        f"integrationsUsageDetails, page {LATER_PAGE + 1} (search, name asc, 20)",
        "hit",
    ),
    Series(
        "integrationsUsageDetails.later.cold",
        f"integrationsUsageDetails, page {LATER_PAGE + 1} (search, name asc, 20), "
        "cold: no answer reuse",
        "miss",
    ),
    Series("aiCreditUsageStats", "aiCreditUsageStats", "hit"),
    Series(
        "aiCreditUsageStatsCombined.hit", "aiCreditUsageStatsCombined, 25 orgs, cache hit", "hit"
    ),
    Series(
        "aiCreditUsageStatsCombined.miss", "aiCreditUsageStatsCombined, 25 orgs, cache miss", "miss"
    ),
)

# ---------------------------------------------------------------- data generation


@dataclass(frozen=True)
class Plan:
    tiers: tuple[Tier, ...]
    runs: int
    requests: int
    warmup: int
    naive_runs: int


FULL = Plan(TIERS, runs=3, requests=70, warmup=10, naive_runs=3)
QUICK = Plan(QUICK_TIERS, runs=1, requests=8, warmup=2, naive_runs=1)
