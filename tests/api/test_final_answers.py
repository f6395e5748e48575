"""``final`` on every statistics answer that has it (section 11; schema-wave2.graphql
lists ten types), on both engines: true exactly when every month of the answer's
period is closed, at once after a close or a reopen.

The automations and agents listings take a day range: their period is every month one
of its (UTC) days falls in, so a few days of a closed month are final and a range that
runs into an open month is not. Today is 2026-11-21: September and October can be
closed, November cannot.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.months import set_month
from tests.support.world import World, populated

PERIODIC = """query Periodic($org: ID!, $orgs: [ID!]!, $period: PeriodFilter!) {
  apiUsageStats(organizationUuid: $org, period: $period) { final }
  apiUsageStatsGroupedBy(organizationUuid: $org, period: $period, dimension: operation_name) {
    final
  }
  apiUsageStatsDaily(organizationUuid: $org, period: $period) { final }
  apiUsageStatsCombined(organizationUuids: $orgs, period: $period) { final }
  integrationsUsageStats(organizationUuid: $org, period: $period) { final }
  integrationsUsageDetails(organizationUuid: $org, period: $period) { final }
  aiCreditUsageStats(organizationUuid: $org, period: $period) { final }
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) { final }
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: $period) { final partial }
}"""
LISTINGS = """query Listings($org: ID!, $range: DateRange!) {
  automationsUsageDetails(organizationUuid: $org, filterDate: $range) {
    final usage automations(first: 1) { totalCount }
  }
  agentsUsageDetails(organizationUuid: $org, filterDate: $range) {
    final usage agents(first: 1) { totalCount }
  }
}"""

RANGES = {
    "october": ("2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z"),
    "two october days": ("2026-10-15T10:00:00Z", "2026-10-16T09:00:00Z"),
    "september": ("2026-09-01T00:00:00Z", "2026-09-30T23:59:59Z"),
    "september to october": ("2026-09-20T00:00:00Z", "2026-10-10T00:00:00Z"),
    "october into november": ("2026-10-20T00:00:00Z", "2026-11-02T00:00:00Z"),
    # 23:30 at UTC-2 is 01:30 on November 1st (UTC): the range runs into November.
    "october's last evening, west of UTC": ("2026-10-31T20:00:00Z", "2026-10-31T23:30:00-02:00"),
    "november": ("2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z"),
}


def periodic(world: World, period: str) -> dict[str, bool]:
    variables = {"org": world.org, "orgs": [world.org], "period": period}
    answer = world.harness.graphql(world.boss, PERIODIC, variables, "Periodic")
    assert "errors" not in answer, answer
    assert answer["data"]["automationsUsageDetailsCombined"]["partial"] is False
    return {field: value["final"] for field, value in answer["data"].items()}


def listings(world: World, name: str) -> dict[str, bool]:
    start, end = RANGES[name]
    variables = {"org": world.org, "range": {"from": start, "to": end}}
    answer = world.harness.graphql(world.boss, LISTINGS, variables, "Listings")
    assert "errors" not in answer, (name, answer)
    return {field: value["final"] for field, value in answer["data"].items()}


def final_ranges(world: World) -> set[str]:
    """The ranges whose two listings are final (both always agree)."""
    found = set()
    for name in RANGES:
        answers = set(listings(world, name).values())
        assert len(answers) == 1, (name, answers)
        if answers == {True}:
            found.add(name)
    return found


def final_periods(world: World) -> dict[str, set[bool]]:
    return {
        period: set(periodic(world, period).values())
        for period in ("current_month", "last_month", "last_3_months")
    }


@pytest.fixture
def world(any_harness: Harness) -> World:
    return populated(any_harness)


def test_every_answer_with_final_follows_the_months_of_its_period(world: World) -> None:
    harness = world.harness
    assert len(periodic(world, "last_month")) == 9
    assert final_periods(world) == {
        "current_month": {False},
        "last_month": {False},
        "last_3_months": {False},
    }
    assert final_ranges(world) == set()

    assert set_month(harness, "2026-10", "close").status_code == 200
    assert final_periods(world) == {
        "current_month": {False},
        "last_month": {True},
        "last_3_months": {False},  # September and November are open
    }
    assert final_ranges(world) == {"october", "two october days"}

    set_month(harness, "2026-09", "close")
    assert final_ranges(world) == {
        "october",
        "two october days",
        "september",
        "september to october",
    }
    assert final_periods(world)["last_3_months"] == {False}  # November never is, yet

    set_month(harness, "2026-10", "reopen")
    assert final_periods(world)["last_month"] == {False}
    assert final_ranges(world) == {"september"}
    set_month(harness, "2026-09", "reopen")
    assert final_ranges(world) == set()


def test_a_final_listing_still_shows_its_usage(world: World) -> None:
    """Closing a month changes ``final`` only, never the figures the answer shows."""
    october = listings_with_usage(world, "october")
    set_month(world.harness, "2026-10", "close")
    closed = listings_with_usage(world, "october")
    assert closed == {key: (usage, True) for key, (usage, _) in october.items()}
    assert october["automationsUsageDetails"] == (1, False)  # a4's job of October 20


def listings_with_usage(world: World, name: str) -> dict[str, tuple[Any, bool]]:
    start, end = RANGES[name]
    variables = {"org": world.org, "range": {"from": start, "to": end}}
    answer = world.harness.graphql(world.boss, LISTINGS, variables, "Listings")
    assert "errors" not in answer, answer
    return {field: (value["usage"], value["final"]) for field, value in answer["data"].items()}
