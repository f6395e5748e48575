"""The per-organization cache of the combined AI-credit query, observed from outside.

What the database did is observed two ways: the ``stats_queries`` metric (per
organization computed) and a counter of SQL statements that read the AI-credit
rollups, attached to the application's engine.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from tests.support.cache_world import COMBINED, SINGLE, Tenancy, seed, tenancy
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.usage import ai_credit, record_events


def sample(h: Any, name: str, labels: dict[str, str]) -> float:
    value = h.services.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


def computed(h: Any) -> float:
    """Organizations whose combined AI-credit figures came from the database."""
    return sample(h, "tallyboard_stats_queries_total", {"query": "aiCreditUsageStatsCombined"})


def cache(h: Any, outcome: str, backend: str = "memory") -> float:
    return sample(h, "tallyboard_cache_requests_total", {"backend": backend, "outcome": outcome})


@contextmanager
def rollup_reads(h: Any) -> Iterator[list[str]]:
    """SQL statements that read the AI-credit rollups while the block runs."""
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "ai_credits_monthly" in statement:
            statements.append(statement)

    engines = h.services.database.engines  # the event loop's reads have their own
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


def combined(h: Any, token: str, orgs: list[str], period: str = "current_month") -> dict[str, Any]:
    answer = h.graphql(token, COMBINED, {"orgs": orgs, "period": period})
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["aiCreditUsageStatsCombined"]
    return result


@pytest.fixture
def setup(any_harness: Harness) -> tuple[Harness, Tenancy, str]:
    t = tenancy()
    secrets = any_harness.apply(t.document)
    token = any_harness.personal_tokens(secrets)[f"{t.email}/t"]
    seed(any_harness, t.orgs, DEFAULT_NOW)
    return any_harness, t, token


def test_cached_organizations_are_not_read_again_within_the_ttl(
    setup: tuple[Harness, Tenancy, str],
) -> None:
    h, t, token = setup
    a, b, c = (t.orgs[k]["uuid"] for k in "ABC")
    with rollup_reads(h) as reads:
        first = combined(h, token, [a, b])
    assert reads and computed(h) == 2
    assert [row["usage"] for row in first["byOrganization"]] == [1.25, 2.5]

    # New usage arrives; 53 s later (within the TTL even with the most jitter, 54 s)
    # the same question is answered from the cache: same answer, no rollup read.
    record_events(h, [ai_credit(a, DEFAULT_NOW, 10, agent_id="agt-a")])
    h.clock.set(DEFAULT_NOW + timedelta(seconds=53))
    with rollup_reads(h) as reads:
        second = combined(h, token, [a, b])
    assert reads == [] and computed(h) == 2
    assert second == first
    assert cache(h, "hit") == 2
    # The single-organization query is never cached: it shows the new usage at once.
    single = h.graphql(token, SINGLE, {"org": a})
    assert single["data"]["aiCreditUsageStats"]["usage"] == 11.25

    # Another combination reuses B's entry and computes only C.
    with rollup_reads(h) as reads:
        other = combined(h, token, [c, b])
    assert computed(h) == 3 and cache(h, "hit") == 3
    assert reads  # C had to be read
    assert [row["organizationUuid"] for row in other["byOrganization"]] == [c, b]
    assert other["byOrganization"][1] == first["byOrganization"][1]

    # After the TTL the entry is gone: recomputed, and the new usage shows.
    h.clock.set(DEFAULT_NOW + timedelta(seconds=61))
    third = combined(h, token, [a, b])
    assert computed(h) == 5
    assert [row["usage"] for row in third["byOrganization"]] == [11.25, 2.5]


def test_a_removed_permission_is_honoured_immediately(
    setup: tuple[Harness, Tenancy, str],
) -> None:
    h, t, token = setup
    a, b = t.orgs["A"]["uuid"], t.orgs["B"]["uuid"]
    before = combined(h, token, [a, b])
    assert before["partial"] is False and len(before["byOrganization"]) == 2

    h.apply(t.with_role("B", "member"))  # no usage_stats in B any more
    after = combined(h, token, [a, b])
    assert after["partial"] is True
    assert [row["organizationUuid"] for row in after["byOrganization"]] == [a]
    assert all(agent["organizationUuid"] == a for agent in after["topAgents"])
    assert after["total"]["usage"] == 1.25
    assert computed(h) == 2  # A still came from the cache: only B was dropped

    h.apply(t.with_role("B", "admin"))
    assert combined(h, token, [a, b]) == before
    assert computed(h) == 2


def test_a_new_month_is_a_new_key(any_harness: Harness) -> None:
    h, t = any_harness, tenancy()
    secrets = h.apply(t.document)
    token = h.personal_tokens(secrets)[f"{t.email}/t"]
    end_of_month = datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC)
    h.clock.set(end_of_month)
    seed(h, t.orgs, end_of_month)
    a = t.orgs["A"]["uuid"]
    november = combined(h, token, [a])
    assert november["total"]["usage"] == 1.25
    h.clock.set(end_of_month + timedelta(seconds=40))  # well within the TTL
    december = combined(h, token, [a])
    assert computed(h) == 2
    assert december["total"]["usage"] == 0
    assert december["filterDate"]["from"] == "2026-12-01T00:00:00Z"
    assert combined(h, token, [a], "last_month")["total"]["usage"] == 1.25


def test_an_unreachable_redis_still_answers_from_the_database(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with Harness(sqlite_url, redis_url="redis://127.0.0.1:1/0") as h:
        t = tenancy()
        secrets = h.apply(t.document)
        token = h.personal_tokens(secrets)[f"{t.email}/t"]
        seed(h, t.orgs, DEFAULT_NOW)
        orgs = [t.orgs[k]["uuid"] for k in "ABC"]
        with caplog.at_level(logging.WARNING, logger="tallyboard.cache"):
            first = combined(h, token, orgs)
            second = combined(h, token, orgs)
    assert [row["usage"] for row in first["byOrganization"]] == [1.25, 2.5, 4.0]
    assert [row["organizationUuid"] for row in first["byOrganization"]] == orgs
    assert second == first
    assert computed(h) == 6  # nothing could be cached
    assert cache(h, "error", "redis") >= 6
    assert cache(h, "hit", "redis") == 0
    assert any("redis cache unavailable" in r.getMessage() for r in caplog.records)
