"""``automationsUsageDetails`` and ``agentsUsageDetails`` over HTTP, on both engines:
every rule of spec §9 (day range and window, search, filters with list coercion, sorts
with the SortCriteria synonyms, keyset paging, availableFilters, permissions)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.support.events import ai_credit, iso
from tests.support.harness import Harness
from tests.support.world import AGENTS, AUTOMATIONS, NOVEMBER, World, populated


@pytest.fixture
def world(any_harness: Harness) -> World:
    return populated(any_harness)


def test_every_automation_with_its_usage_and_the_filters_available(world: World) -> None:
    answer = world.details()
    assert answer["usage"] == 15 and answer["final"] is False
    assert answer["filterDate"] == NOVEMBER
    connection = answer["automations"]
    assert connection["totalCount"] == 5
    assert [(e["node"]["id"], e["node"]["usage"]) for e in connection["edges"]] == [
        ("a1", 7),
        ("a9", 4),
        ("a2", 3),
        ("a8", 1),
        ("a3", 0),
    ]
    first = connection["edges"][0]["node"]
    assert first["name"] == "Move won deals" and first["status"] == "active"
    assert first["actionRepo"] == {
        "uuid": world.sales,
        "name": "Sales",
        "icon": "cart",
        "color": None,
    }
    assert first["eventRepo"] == {"uuid": world.support, "name": "Support"}
    assert first["createdBy"]["name"] == "Ann" and first["createdBy"]["avatarUrl"] is None
    assert first["createdAt"] == "2026-09-02T08:00:00Z"
    assert first["tags"] == [{"name": "crm"}, {"name": "sales"}]
    by_id = {e["node"]["id"]: e["node"] for e in connection["edges"]}
    assert by_id["a8"]["name"] == "a8" and by_id["a8"]["action"] is None
    assert by_id["a9"]["createdAt"] == "2026-11-21T10:00:00Z"
    assert answer["availableFilters"] == {
        "action": ["archive_card", "create_card", "move_card"],
        "event": ["card_done", "card_moved", "form_submitted"],
        "status": ["active", "inactive"],
        "tags": ["crm", "ops", "sales"],
        "pipes": [
            {"uuid": world.sales, "name": "Sales"},
            {"uuid": world.support, "name": "Support"},
        ],
    }


def test_day_ranges_count_whole_days_and_a_deleted_automation_shows_only_with_usage(
    world: World,
) -> None:
    october = world.details(range={"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:59:59Z"})
    nodes = [e["node"] for e in october["automations"]["edges"]]
    assert (nodes[0]["id"], nodes[0]["name"], nodes[0]["usage"]) == ("a4", "Old", 1)
    assert "a4" not in world.ids()
    day = world.details(range={"from": "2026-11-20T15:00:00Z", "to": "2026-11-20T16:00:00Z"})
    assert day["filterDate"] == {"from": "2026-11-20T00:00:00Z", "to": "2026-11-20T23:59:59Z"}
    assert day["usage"] == 8
    future = world.details(range={"from": "2026-11-25T00:00:00Z", "to": "2026-11-30T23:59:59Z"})
    assert future["usage"] == 0 and future["automations"]["totalCount"] == 5


def test_search_and_filters(world: World) -> None:
    assert world.ids(search="MOVE") == ["a1"]
    assert world.ids(search="a8") == ["a8"]
    assert world.ids(filters={"status": "INACTIVE"}) == ["a2"]  # a single value is a list
    assert world.ids(filters={"pipe": [world.sales]}) == ["a1", "a2"]
    assert world.ids(filters={"tags": ["crm", "ops"], "action": "move_card"}) == ["a1"]
    assert world.ids(filters={"event": [], "status": []}) == ["a1", "a9", "a2", "a8", "a3"]
    filtered = world.details(filters={"status": "active"})
    assert filtered["usage"] == 12 and filtered["automations"]["totalCount"] == 4
    assert filtered["availableFilters"]["status"] == ["active", "inactive"]


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ({"by": "name"}, ["a8", "a2", "a9", "a1", "a3"]),
        ({"field": "name", "direction": "desc"}, ["a3", "a1", "a9", "a2", "a8"]),
        ({"by": "usage", "field": "name", "order": "asc"}, ["a3", "a8", "a2", "a9", "a1"]),
        ({"by": "status"}, ["a1", "a3", "a8", "a9", "a2"]),
        # a2 and a3 were created by the apply (now), a9 and a8 by their first event.
        ({"by": "createdAt", "order": "DESC"}, ["a2", "a3", "a9", "a8", "a1"]),
        ({"by": "nonsense", "order": "asc"}, ["a1", "a9", "a2", "a8", "a3"]),
    ],
)
def test_sorts_and_their_synonyms(world: World, sort: dict[str, str], expected: list[str]) -> None:
    assert world.ids(sort=sort) == expected


def test_keyset_pages_walk_the_whole_listing(world: World) -> None:
    for sort in ({"by": "name"}, {"by": "usage"}, {"by": "updatedAt", "order": "desc"}):
        seen: list[str] = []
        after = None
        while True:
            page = world.details(sort=sort, first=2, after=after)["automations"]
            seen += [n["id"] for n in page["nodes"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert seen == world.ids(sort=sort, first=100)


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def test_invalid_arguments_are_invalid_input(world: World) -> None:
    cursor = world.details(first=1)["automations"]["pageInfo"]["endCursor"]
    for variables in (
        {"range": {"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}},
        {"range": {"from": "2026-08-31T23:59:59Z", "to": "2026-11-01T00:00:00Z"}},
        {"range": {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}},
        {"range": {"from": "yesterday", "to": "2026-11-02T00:00:00Z"}},
        {"range": {"from": 5, "to": "2026-11-02T00:00:00Z"}},
        {"first": 0},
        {"first": 101},
        {"after": "nope"},
        {"after": cursor, "search": "other"},
    ):
        answer = world.ask(**variables)
        assert _codes(answer) == ["INVALID_INPUT"], (variables, answer)
    assert world.details(after=cursor, first=3)["automations"]["nodes"][0]["id"] == "a9"
    bad = world.harness.graphql(world.boss, AUTOMATIONS, {"org": "nope", "range": NOVEMBER})
    assert _codes(bad) == ["INVALID_INPUT"]


def test_unknown_and_forbidden_organizations_are_denied_alike(world: World) -> None:
    forbidden = world.ask(world.viewer)
    unknown = world.harness.graphql(
        world.boss, AUTOMATIONS, {"org": str(uuid.uuid4()), "range": NOVEMBER}
    )
    assert _codes(forbidden) == _codes(unknown) == ["PERMISSION_DENIED"]
    assert forbidden["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert forbidden["data"]["automationsUsageDetails"] is None


def test_agents_with_exact_credits_and_the_public_clients_document(world: World) -> None:
    at = datetime(2026, 11, 20, 9, 0)
    world.send(
        [
            {**ai_credit(world.org, at, credits=c, agent="agt-1", agent_name=None)}
            for c in (2.5, 0.1, 0.2)
        ]
        + [
            ai_credit(world.org, at, credits=1, agent="agt-2", agent_name=None),
            ai_credit(world.org, at, credits=7, resource="assistant", agent=None, agent_name=None),
        ]
    )
    answer = world.harness.graphql(
        world.boss, AGENTS, {"org": world.org, "range": NOVEMBER}, "AgentsUsageDetails"
    )
    assert "errors" not in answer, answer
    details = answer["data"]["agentsUsageDetails"]
    assert details["usage"] == 3.8
    agents = details["agents"]
    assert agents["totalCount"] == 2
    assert [(n["id"], n["name"], n["usage"]) for n in agents["nodes"]] == [
        ("agt-1", "Invoice Processor", 2.8),
        ("agt-2", None, 1.0),
    ]
    assert agents["pageInfo"]["hasNextPage"] is False
    assert iso(at)  # the events' day is inside November
