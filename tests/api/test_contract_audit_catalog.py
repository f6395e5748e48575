"""Contract audit of the §9 catalog facts, the Organization fields and the combined
automation query: black-box requests exactly as the contract words them, for rules the
other tests leave out.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.combined import COMBINED
from tests.support.events import ai_credit
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.organization import GET_ORGANIZATION
from tests.support.world import NOVEMBER, World, populated


@pytest.fixture
def world(harness: Harness) -> World:
    return World(harness)


def _node(world: World, automation: str) -> dict[str, Any]:
    nodes = [e["node"] for e in world.details(first=100)["automations"]["edges"]]
    [node] = [n for n in nodes if n["id"] == automation]
    found: dict[str, Any] = node
    return found


def _catalog(world: World, name: str) -> dict[str, Any]:
    entry = {"id": "c1", "name": name, "action": "create_card", "event": "card_moved"}
    return {"organizations": [{"id": world.org_id, "name": "Acme", "automations": [entry]}]}


# ---------------------------------------------------------------------- catalog facts


def test_updated_at_is_server_time_of_the_last_change(world: World) -> None:
    harness = world.harness
    harness.apply(_catalog(world, "Original"))
    assert _node(world, "c1")["updatedAt"] == "2026-11-21T10:30:00Z"
    # An event name that wins: updatedAt is when the server took it, not the event's time.
    harness.clock.set(DEFAULT_NOW + timedelta(minutes=5))
    world.send([world.job("c1", "2026-11-21T10:31:00Z", 1, "From an event")])
    node = _node(world, "c1")
    assert (node["name"], node["updatedAt"]) == ("From an event", "2026-11-21T10:35:00Z")
    # The same document again changes nothing, not even the event's name.
    harness.clock.set(DEFAULT_NOW + timedelta(minutes=10))
    harness.apply(_catalog(world, "Original"))
    node = _node(world, "c1")
    assert (node["name"], node["updatedAt"]) == ("From an event", "2026-11-21T10:35:00Z")
    # A changed name in a document is a fact at the time of that apply.
    harness.apply(_catalog(world, "Renamed"))
    node = _node(world, "c1")
    assert (node["name"], node["updatedAt"]) == ("Renamed", "2026-11-21T10:40:00Z")
    assert node["createdAt"] == "2026-11-21T10:30:00Z"  # first applied


def test_an_event_only_automation_is_created_at_its_first_event_and_the_newest_name_wins(
    world: World,
) -> None:
    world.send([world.job("e1", "2026-11-20T12:00:00Z", 1, "Newer")])
    world.send([world.job("e1", "2026-11-05T12:00:00Z", 1, "Older")])
    node = _node(world, "e1")
    assert (node["name"], node["createdAt"]) == ("Newer", "2026-11-05T12:00:00Z")
    assert (node["status"], node["action"], node["event"]) == ("active", None, None)


def test_an_organizations_created_at_is_when_it_was_first_applied(world: World) -> None:
    harness = world.harness
    harness.clock.set(DEFAULT_NOW + timedelta(minutes=30))  # the tokens live 1 h
    harness.apply({"organizations": [{"id": world.org_id, "name": "Acme renamed"}]})
    answer = harness.graphql(world.boss, GET_ORGANIZATION, {"id": world.org_id})
    org = answer["data"]["organization"]
    assert (org["name"], org["createdAt"]) == ("Acme renamed", "2026-11-21T10:30:00Z")


# ---------------------------------------------------------- the combined automation query


def _combined(harness: Harness, token: str, orgs: list[str]) -> dict[str, Any]:
    answer = harness.graphql(token, COMBINED, {"orgs": orgs, "period": "current_month"})
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["automationsUsageDetailsCombined"]
    return result


def _many(world: World, count: int) -> None:
    """``count`` automations, each on its own event pipe, automation i with i + 1 jobs."""
    pipes = [{"id": f"p{i:02d}", "name": f"Pipe {i:02d}"} for i in range(count)]
    automations = [
        {"id": f"m{i:02d}", "name": f"M {i:02d}", "action": "a", "event": "e",
         "eventPipe": f"p{i:02d}"}
        for i in range(count)
    ]  # fmt: skip
    world.harness.apply(
        {
            "organizations": [
                {"id": world.org_id, "name": "Acme", "pipes": pipes, "automations": automations}
            ]
        }
    )
    world.send([world.job(f"m{i:02d}", "2026-11-10T10:00:00Z", i + 1) for i in range(count)])


def test_top_automations_hold_10_and_pipes_50(world: World) -> None:
    _many(world, 52)
    combined = _combined(world.harness, world.viewer, [world.org])
    assert [t["id"] for t in combined["topAutomations"]] == [f"m{i:02d}" for i in range(51, 41, -1)]
    assert len(combined["byPipe"]) == 50
    assert [p["usage"] for p in combined["byPipe"]] == list(range(52, 2, -1))
    assert combined["total"]["usage"] == sum(range(1, 53))


def test_the_combined_query_drops_organizations_without_usage_stats(harness: Harness) -> None:
    world = populated(harness)
    secrets = harness.apply(
        {
            "serviceAccounts": [
                {
                    "organization": world.org_id,
                    "name": "member",
                    "role": "member",
                    "tokenLifetime": "1h",
                }
            ]
        }
    )
    member = harness.service_account_tokens(secrets)["member"]
    combined = _combined(harness, member, [world.org])
    assert combined["partial"] is True and combined["byOrganization"] == []
    assert combined["total"] == {"usage": 0}
    admin = _combined(harness, world.viewer, [world.org])  # admin holds usage_stats
    assert admin["partial"] is False and admin["total"] == {"usage": 15}


def test_the_combined_answer_per_organization_lives_60_seconds(harness: Harness) -> None:
    world = populated(harness)
    assert _combined(harness, world.viewer, [world.org])["total"] == {"usage": 15}
    world.send([world.job("a1", "2026-11-21T10:00:00Z", 100)])
    harness.clock.set(DEFAULT_NOW + timedelta(seconds=30))
    assert _combined(harness, world.viewer, [world.org])["total"] == {"usage": 15}
    other = str(uuid.uuid4())  # another combination shares the organization's entry
    assert _combined(harness, world.viewer, [other, world.org])["total"] == {"usage": 15}
    harness.clock.set(DEFAULT_NOW + timedelta(seconds=61))
    assert _combined(harness, world.viewer, [world.org])["total"] == {"usage": 115}


def test_an_unchanged_agent_entry_keeps_the_name_an_event_gave_it(world: World) -> None:
    harness = world.harness
    document = {
        "organizations": [
            {"id": world.org_id, "name": "Acme", "agents": [{"id": "agt-1", "name": "Catalogued"}]}
        ]
    }
    harness.apply(document)
    at = DEFAULT_NOW + timedelta(minutes=1)
    world.send([ai_credit(world.org, at, credits=1, agent="agt-1", agent_name="From an event")])
    harness.clock.set(DEFAULT_NOW + timedelta(minutes=2))
    harness.apply(document)
    assert _agent_names(world) == {"agt-1": "From an event"}
    document["organizations"][0]["agents"] = [{"id": "agt-1", "name": "Renamed"}]
    harness.apply(document)
    assert _agent_names(world) == {"agt-1": "Renamed"}


def _agent_names(world: World) -> dict[str, str]:
    answer = world.harness.graphql(
        world.boss,
        """query($org: ID!, $range: DateRange!) {
          agentsUsageDetails(organizationUuid: $org, filterDate: $range) {
            agents { nodes { id name } }
          }
        }""",
        {"org": world.org, "range": NOVEMBER},
    )
    assert "errors" not in answer, answer
    return {n["id"]: n["name"] for n in answer["data"]["agentsUsageDetails"]["agents"]["nodes"]}


def test_combined_job_totals_above_32_bits_are_exact(world: World) -> None:
    world.send([world.job("big", "2026-11-10T10:00:00Z", 10**9) for _ in range(5)])
    combined = _combined(world.harness, world.viewer, [world.org])
    assert combined["total"] == {"usage": 5 * 10**9}
    assert combined["byOrganization"][0]["usage"] == 5 * 10**9
    assert combined["topAutomations"][0]["usage"] == 5 * 10**9


def test_catalog_created_at_takes_an_offset_and_bad_entries_are_named_by_path(
    world: World,
) -> None:
    harness = world.harness
    good = {"id": "c2", "name": "N", "action": "a", "event": "e",
            "createdAt": "2026-09-02T10:00:00+02:00"}  # fmt: skip
    harness.apply({"organizations": [{"id": world.org_id, "name": "Acme", "automations": [good]}]})
    assert _node(world, "c2")["createdAt"] == "2026-09-02T08:00:00Z"
    bad = [
        {"id": "c3", "name": "N", "action": "a" * 129, "event": "e"},
        {"id": "c4", "name": "N", "action": "a", "event": "e", "status": "paused"},
        {"id": "c5", "name": "N", "action": "a", "event": "e", "createdAt": "yesterday"},
        {"id": "c6", "name": "N", "action": "a", "event": "e", "eventPipe": "nope"},
        {"id": "c7", "name": "N", "action": "a", "event": "e", "createdBy": "who@nowhere.test"},
    ]
    response = harness.http.post(
        "/v1/admin/apply",
        json={"organizations": [{"id": world.org_id, "name": "Acme", "automations": bad}]},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 422, response.text
    paths = {p["path"] for p in response.json()["error"]["problems"]}
    prefix = "organizations[0].automations"
    assert {
        f"{prefix}[0].action",
        f"{prefix}[1].status",
        f"{prefix}[2].createdAt",
        f"{prefix}[3].eventPipe",
        f"{prefix}[4].createdBy",
    } <= paths
    assert "c3" not in [n["id"] for n in world.details()["automations"]["nodes"]]


def test_pages_hold_20_by_default_and_page_info_matches_the_edges(world: World) -> None:
    _many(world, 52)
    first = world.details()["automations"]
    assert len(first["edges"]) == 20 and first["totalCount"] == 55  # and a1, a2, a3
    info = first["pageInfo"]
    assert info["hasNextPage"] is True and info["hasPreviousPage"] is False
    assert info["startCursor"] == first["edges"][0]["cursor"]
    assert info["endCursor"] == first["edges"][-1]["cursor"]
    assert [n["id"] for n in first["nodes"]] == [e["node"]["id"] for e in first["edges"]]
    last = world.details(first=100, after=info["endCursor"])["automations"]
    assert len(last["edges"]) == 35 and last["pageInfo"]["hasNextPage"] is False
    assert last["totalCount"] == 55
