"""Contract audit of §11 closed months on the §9 automation and agent answers: ``final``
at once (combined cache included) and ``automation.job`` events refused as
``PERIOD_CLOSED``.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.world import World, populated

FINALS = """query Finals($org: ID!, $orgs: [ID!]!, $range: DateRange!, $period: PeriodFilter!) {
  automationsUsageDetails(organizationUuid: $org, filterDate: $range) { final usage }
  agentsUsageDetails(organizationUuid: $org, filterDate: $range) { final }
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: $period) { final }
}"""
OCTOBER = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:59:59Z"}
ACROSS = {"from": "2026-10-15T00:00:00Z", "to": "2026-11-02T23:59:59Z"}


@pytest.fixture
def world(harness: Harness) -> World:
    return populated(harness)


def _month(world: World, change: str) -> None:
    response = world.harness.http.post(
        f"/v1/admin/months/2026-10/{change}",
        headers={"Authorization": f"Bearer {world.harness.admin_token}"},
    )
    assert response.status_code == 200, response.text


def _finals(world: World, day_range: dict[str, str]) -> dict[str, Any]:
    variables = {"org": world.org, "orgs": [world.org], "range": day_range, "period": "last_month"}
    answer = world.harness.graphql(world.boss, FINALS, variables)
    assert "errors" not in answer, answer
    return {name: field["final"] for name, field in answer["data"].items()}


def test_final_of_the_combined_automation_query_follows_closing_at_once(world: World) -> None:
    combined = "automationsUsageDetailsCombined"
    assert _finals(world, OCTOBER)[combined] is False  # and now in the per-org cache
    _month(world, "close")
    assert _finals(world, OCTOBER)[combined] is True
    _month(world, "reopen")
    assert _finals(world, OCTOBER)[combined] is False


def test_final_of_the_listings_is_true_when_every_month_of_the_range_is_closed(
    world: World,
) -> None:
    _month(world, "close")
    october = _finals(world, OCTOBER)
    assert october["automationsUsageDetails"] is True and october["agentsUsageDetails"] is True
    across = _finals(world, ACROSS)
    assert across["automationsUsageDetails"] is False and across["agentsUsageDetails"] is False


def test_jobs_dated_in_a_closed_month_are_period_closed(world: World) -> None:
    _month(world, "close")
    event = world.job("a1", "2026-10-25T10:00:00Z", 3)
    response = world.harness.http.post(
        "/v1/events", json=[event], headers={"Authorization": f"Bearer {world.key}"}
    )
    assert [r["code"] for r in response.json()["rejected"]] == ["PERIOD_CLOSED"]
    backfill = world.harness.http.post(
        "/v1/admin/backfill",
        json=[{**event, "id": uuid.uuid4().hex}],
        headers={"Authorization": f"Bearer {world.harness.admin_token}"},
    )
    assert [r["code"] for r in backfill.json()["rejected"]] == ["PERIOD_CLOSED"]
    assert world.details(range=OCTOBER)["usage"] == 1
