"""``automationsUsageDetailsCombined`` over HTTP on both engines (spec §9, §4 rules)."""

from __future__ import annotations

import uuid

import pytest

from tests.support.combined import COMBINED, Pair
from tests.support.harness import Harness
from tests.support.world import World


@pytest.fixture
def pair(any_harness: Harness) -> Pair:
    return Pair(any_harness)


def test_totals_organizations_pipes_and_top_automations(pair: Pair) -> None:
    a, b = pair.a, pair.b
    answer = pair.combined([b.org, a.org])
    assert answer["total"] == {"usage": 30}
    assert answer["partial"] is False and answer["final"] is False
    assert answer["filterDate"] == {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
    assert answer["byOrganization"] == [
        {
            "organizationUuid": w.org,
            "organizationName": "Acme",
            "usage": 15,
            "lastUpdatedAt": "2026-11-21T10:00:00Z",
        }
        for w in (b, a)
    ]
    first, second = sorted([a, b], key=lambda w: w.org)
    assert [
        (p["organizationUuid"], p["pipe"]["name"], p["usage"], p["lastUpdatedAt"])
        for p in answer["byPipe"]
    ] == [
        (first.org, "Support", 7, "2026-11-20T09:00:00Z"),
        (second.org, "Support", 7, "2026-11-20T09:00:00Z"),
        (first.org, "Sales", 3, "2026-11-20T10:00:00Z"),
        (second.org, "Sales", 3, "2026-11-20T10:00:00Z"),
    ]
    assert answer["byPipe"][2]["pipe"]["icon"] == "cart"
    top = [(t["organizationUuid"], t["id"], t["usage"]) for t in answer["topAutomations"]]
    assert top == [
        (w.org, i, u)
        for i, u in (("a1", 7), ("a9", 4), ("a2", 3), ("a8", 1))
        for w in (first, second)
    ]
    best = answer["topAutomations"][0]
    assert best["name"] == "Move won deals" and best["createdBy"] == {"name": "Ann"}
    assert best["actionRepo"] == {"name": "Sales"} and best["eventRepo"] == {"name": "Support"}


def test_the_period_counts_whole_months_and_deleted_automations_keep_their_name(pair: Pair) -> None:
    answer = pair.combined([pair.a.org], "last_3_months")
    assert answer["total"]["usage"] == 16
    old = [t for t in answer["topAutomations"] if t["id"] == "a4"]
    assert [(t["name"], t["usage"]) for t in old] == [("Old", 1)]
    assert pair.combined([pair.a.org], "last_month")["total"]["usage"] == 1


def test_dropped_organizations_make_it_partial_and_bad_lists_are_invalid(pair: Pair) -> None:
    stranger = str(uuid.uuid4())
    answer = pair.combined([stranger, pair.a.org, pair.a.org])
    assert answer["partial"] is True
    assert [o["organizationUuid"] for o in answer["byOrganization"]] == [pair.a.org]
    empty = pair.combined([stranger])
    assert empty["partial"] is True and empty["total"] == {"usage": 0}
    assert empty["byOrganization"] == empty["byPipe"] == empty["topAutomations"] == []
    for orgs in ([], ["nope"], [str(uuid.uuid4()) for _ in range(26)]):
        codes = [e["extensions"]["code"] for e in pair.ask(orgs)["errors"]]
        assert codes == ["INVALID_INPUT"]


def test_a_world_without_jobs_lists_nothing(any_harness: Harness) -> None:
    world = World(any_harness)
    answer = any_harness.graphql(
        world.boss, COMBINED, {"orgs": [world.org], "period": "current_month"}
    )
    combined = answer["data"]["automationsUsageDetailsCombined"]
    assert combined["byOrganization"][0]["lastUpdatedAt"] is None
    assert combined["byPipe"] == combined["topAutomations"] == []
