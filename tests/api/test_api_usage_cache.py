"""``apiUsageStatsCombined`` shares the per-organization cache (spec §4, decision 0007)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.cache_world import Tenancy, tenancy
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.usage import api_call, record_events

QUERY = """
query Combined($orgs: [ID!]!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: current_month) {
    total { usage limit }
    byOrganization { organizationUuid usage }
    topItems(dimension: operation_name) { dimension metric organizationUuid }
    partial
  }
}"""


def computed(h: Harness) -> float:
    value = h.services.metrics.registry.get_sample_value(
        "tallyboard_stats_queries_total", {"query": "apiUsageStatsCombined"}
    )
    return float(value or 0.0)


def usage(h: Harness, token: str, orgs: list[str]) -> list[int]:
    answer = h.graphql(token, QUERY, {"orgs": orgs})
    assert "errors" not in answer, answer
    return [row["usage"] for row in answer["data"]["apiUsageStatsCombined"]["byOrganization"]]


@pytest.fixture
def setup(any_harness: Harness) -> tuple[Harness, Tenancy, str]:
    t = tenancy()
    token = any_harness.personal_tokens(any_harness.apply(t.document))[f"{t.email}/t"]
    events = [
        api_call(t.orgs[key]["uuid"], DEFAULT_NOW, operation_name="Op", count=calls)
        for key, calls in (("A", 3), ("B", 5), ("C", 7))
    ]
    assert record_events(any_harness, events)["accepted"] == 3
    return any_harness, t, token


def test_per_org_results_are_reused_within_the_ttl_and_across_combinations(
    setup: tuple[Harness, Tenancy, str],
) -> None:
    h, t, token = setup
    a, b, c = (t.orgs[k]["uuid"] for k in "ABC")
    assert usage(h, token, [a, b]) == [3, 5]
    assert computed(h) == 2
    assert usage(h, token, [b, a]) == [5, 3]
    assert computed(h) == 2  # both organizations came from the cache
    assert usage(h, token, [c, a]) == [7, 3]
    assert computed(h) == 3  # only C was new


def test_new_usage_appears_once_the_entry_expires(setup: tuple[Harness, Tenancy, str]) -> None:
    h, t, token = setup
    a = t.orgs["A"]["uuid"]
    assert usage(h, token, [a]) == [3]
    record_events(h, [api_call(a, DEFAULT_NOW, operation_name="Op", count=10)])
    assert usage(h, token, [a]) == [3]  # cached: the combined query may lag by up to 60 s
    h.clock.set(DEFAULT_NOW + timedelta(seconds=61))
    assert usage(h, token, [a]) == [13]


def test_a_removed_permission_is_honoured_despite_the_cache(
    setup: tuple[Harness, Tenancy, str],
) -> None:
    h, t, token = setup
    a, b = t.orgs["A"]["uuid"], t.orgs["B"]["uuid"]
    assert usage(h, token, [a, b]) == [3, 5]
    h.apply(t.with_role("B", "member"))
    answer: dict[str, Any] = h.graphql(token, QUERY, {"orgs": [a, b]})
    result = answer["data"]["apiUsageStatsCombined"]
    assert [row["organizationUuid"] for row in result["byOrganization"]] == [a]
    assert result["partial"] is True
    assert result["total"]["usage"] == 3


def test_counts_beyond_32_bits_are_answered_exactly(
    setup: tuple[Harness, Tenancy, str],
) -> None:
    """A GraphQL Int is 32-bit, but a month of a large platform's calls is not (decision
    0012): the answer carries the exact count instead of failing."""
    h, t, token = setup
    a, b = t.orgs["A"]["uuid"], t.orgs["B"]["uuid"]
    big = 10**9  # the most one event may carry
    events = [api_call(a, DEFAULT_NOW, operation_name="Op", count=big) for _ in range(3)]
    assert record_events(h, events)["accepted"] == 3
    answer = h.graphql(token, QUERY, {"orgs": [a, b]})
    assert "errors" not in answer, answer
    combined = answer["data"]["apiUsageStatsCombined"]
    assert [row["usage"] for row in combined["byOrganization"]] == [3 + 3 * big, 5]
    assert combined["total"]["usage"] == 3 + 3 * big + 5
    assert combined["topItems"][0] == {
        "dimension": "Op",
        "metric": 3 + 3 * big,
        "organizationUuid": a,
    }


TOP = """
query Top($org: ID!) {
  apiUsageStats(organizationUuid: $org, period: current_month, dimension: operation_name) {
    data { dimension metric }
    limit
  }
}"""


def test_single_org_answers_are_reused_only_while_the_rollups_are_unchanged(
    setup: tuple[Harness, Tenancy, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """apiUsageStats keeps its last answer per organization and period and reuses it
    while the organization's API-call version and the tenancy generation are unchanged
    (decision 0010): never stale, unlike a cache with a time to live."""
    from tallyboard.storage import api_usage_reader

    reads: list[int] = []
    real = api_usage_reader.top_values

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(api_usage_reader, "top_values", counting)
    h, t, token = setup
    a = t.orgs["A"]["uuid"]

    def top() -> dict[str, Any]:
        answer = h.graphql(token, TOP, {"org": a})
        assert "errors" not in answer, answer
        result: dict[str, Any] = answer["data"]["apiUsageStats"]
        return result

    first = top()
    assert first == {"data": [{"dimension": "Op", "metric": 3}], "limit": None}
    assert top() == first
    assert len(reads) == 1

    # New usage (here ingested; the metering flush goes through the same writer).
    record_events(h, [api_call(a, DEFAULT_NOW, operation_name="Other op", count=5)])
    assert top()["data"] == [
        {"dimension": "Other op", "metric": 5},
        {"dimension": "Op", "metric": 3},
    ]
    assert len(reads) == 2

    # A new allowance arrives through admin apply: the very next answer has it.
    org = {k: t.orgs["A"][k] for k in ("id", "uuid", "name")}
    settings = [{"effectiveFrom": "2026-01", "allowances": {"apiCalls": 1234}}]
    h.apply({"organizations": [{**org, "settings": settings}]})
    assert top()["limit"] == 1234
    assert len(reads) == 3
