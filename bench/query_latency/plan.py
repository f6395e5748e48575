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
    automations: int = 0
    """Automations (spec §9); the organization also has about ``calls`` automation jobs."""
    pipes: int = 0


TIERS = (
    Tier("1M", 1_000_000, 200, 20, 1_000, 50, naive=True, automations=300, pipes=20),
    Tier("10M", 10_000_000, 400, 40, 3_000, 100, naive=True, automations=1_000, pipes=50),
    Tier("100M", 100_000_000, 800, 80, 10_000, 200, naive=False, automations=3_000, pipes=120),
)
"""Positional: label, calls (and automation jobs), operations, tokens, flows, agents."""
QUICK_TIERS = (Tier("20k", 20_000, 40, 6, 120, 12, naive=True, automations=60, pipes=6),)
SMALL = Tier("small", 200_000, 30, 5, 40, 8, naive=False, automations=20, pipes=3)
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
    requests: int | None = None
    """Requests per run when fewer than the plan's (keeps the full run's length in
    bounds; each run's p99 is still its slowest request but one or its slowest)."""


SERIES: tuple[Series, ...] = (
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

AGENTS_LATER_PAGE = 2
"""The later page of agentsUsageDetails (10 a page: organizations have fewer agents)."""


SECTION9_REQUESTS = 30
"""Requests per run of the §9 series (the others: the plan's 70)."""


def _details(query: str, page: str, what: str) -> tuple[Series, Series]:
    warm = Series(f"{query}.{page}", f"{query}, {what}", "hit", SECTION9_REQUESTS)
    cold = Series(
        f"{query}.{page}.cold", f"{query}, {what}, cold: no answer reuse", "miss", SECTION9_REQUESTS
    )
    return warm, cold


SERIES = (
    *SERIES,
    *_details("automationsUsageDetails", "first", "first page (usage desc, 20)"),
    *_details(
        "automationsUsageDetails",
        "later",
        f"page {LATER_PAGE + 1} (search, status filter, name asc, 20)",
    ),
    *_details("agentsUsageDetails", "first", "first page (usage desc, 20)"),
    *_details(
        "agentsUsageDetails",
        "later",
        f"page {AGENTS_LATER_PAGE + 1} (search, status filter, name asc, 10)",
    ),
    Series(
        "automationsUsageDetailsCombined.hit",
        "automationsUsageDetailsCombined, 25 orgs, cache hit",
        "hit",
        SECTION9_REQUESTS,
    ),
    Series(
        "automationsUsageDetailsCombined.miss",
        "automationsUsageDetailsCombined, 25 orgs, cache miss",
        "miss",
        SECTION9_REQUESTS,
    ),
)
"""The series of spec §9 (the day-range listings take the period's days as a DateRange:
the whole current month, or the whole last_3_months window)."""
SECTION9_QUERIES = (
    "automationsUsageDetails",
    "agentsUsageDetails",
    "automationsUsageDetailsCombined",
)
"""Each gets its own row in the report's Targets table."""

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
