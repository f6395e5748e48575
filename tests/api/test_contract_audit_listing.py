"""Contract audit of the automation / agent listings (spec §9 "Settled details"): black-box
requests exactly as the contract words them, for rules the other listing tests leave out.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.support.events import ai_credit
from tests.support.harness import Harness
from tests.support.world import AUTOMATIONS, NOVEMBER, World, populated

AGENTS = """query Agents($org: ID!, $range: DateRange!, $search: String, $sort: SortCriteria,
    $first: Int, $after: String) {
  agentsUsageDetails(organizationUuid: $org, filterDate: $range, search: $search, sort: $sort) {
    usage
    agents(first: $first, after: $after) {
      totalCount nodes { id name usage } pageInfo { hasNextPage endCursor }
    }
  }
}"""


@pytest.fixture
def world(harness: Harness) -> World:
    return populated(harness)


@pytest.fixture
def any_world(any_harness: Harness) -> World:
    """The same world on SQLite and on PostgreSQL, for rules an engine could bend
    (collation, 64-bit sums)."""
    return populated(any_harness)


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in answer.get("errors", [])]


def _agents(world: World, **variables: Any) -> dict[str, Any]:
    variables.setdefault("range", NOVEMBER)
    answer = world.harness.graphql(world.boss, AGENTS, {"org": world.org, **variables})
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["agentsUsageDetails"]
    return result


def _with_agents(world: World) -> World:
    """agt-1 "Invoice Processor" (2.5), agt-2 deleted so nameless (1), agt-3 "apex" (0.5)."""
    at = datetime(2026, 11, 20, 9, 0)
    world.send(
        [
            ai_credit(world.org, at, credits=2.5, agent="agt-1", agent_name=None),
            ai_credit(world.org, at, credits=1, agent="agt-2", agent_name=None),
            ai_credit(world.org, at, credits=0.5, agent="agt-3", agent_name="apex"),
        ]
    )
    return world


# ------------------------------------------------------------------ filters match exactly


def test_action_event_and_tag_filters_match_exactly_but_status_ignores_case(world: World) -> None:
    assert world.ids(filters={"action": ["MOVE_CARD"]}) == []
    assert world.ids(filters={"event": ["Card_Moved"]}) == []
    assert world.ids(filters={"tags": ["CRM"]}) == []
    assert world.ids(filters={"pipe": [world.sales.upper()]}) == []
    assert world.ids(filters={"status": ["Inactive"]}) == ["a2"]


# ------------------------------------------------------------------------------ sorting


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        # A valid `by` with an unknown order: usage descending, every other key ascending.
        ({"by": "usage", "order": "sideways"}, ["a1", "a9", "a2", "a8", "a3"]),
        ({"by": "name", "order": "sideways"}, ["a8", "a2", "a9", "a1", "a3"]),
        # The two spellings mixed.
        ({"field": "name", "order": "desc"}, ["a3", "a1", "a9", "a2", "a8"]),
        ({"by": "name", "direction": "desc"}, ["a3", "a1", "a9", "a2", "a8"]),
        # Both spellings given: by / order win.
        ({"by": "name", "field": "usage", "order": "asc", "direction": "desc"},
         ["a8", "a2", "a9", "a1", "a3"]),
    ],
)  # fmt: skip
def test_sort_orders_default_per_key_and_spellings_mix(
    world: World, sort: dict[str, str], expected: list[str]
) -> None:
    assert world.ids(sort=sort) == expected


def test_names_sort_by_unicode_casefold_with_ties_by_id(any_harness: Harness) -> None:
    harness = any_harness
    world = World(harness)
    harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "automations": [
                        {"id": "x1", "name": "Straße", "action": "a", "event": "e"},
                        {"id": "x2", "name": "strasse", "action": "a", "event": "e"},
                        {"id": "x3", "name": "STRASSE1", "action": "a", "event": "e"},
                    ],
                }
            ]
        }
    )
    names = [i for i in world.ids(sort={"by": "name"}) if i.startswith("x")]
    # casefold("Straße") == casefold("strasse") == "strasse": a tie, broken by id.
    assert names == ["x1", "x2", "x3"]


def test_a_null_agent_name_sorts_last_both_ways_and_never_matches_a_search(
    any_world: World,
) -> None:
    world = _with_agents(any_world)
    ascending = _agents(world, sort={"by": "name", "order": "asc"})["agents"]["nodes"]
    descending = _agents(world, sort={"by": "name", "order": "desc"})["agents"]["nodes"]
    assert [n["id"] for n in ascending] == ["agt-3", "agt-1", "agt-2"]
    assert [n["id"] for n in descending] == ["agt-1", "agt-3", "agt-2"]
    assert _agents(world, search="agt")["agents"]["totalCount"] == 0
    assert [n["id"] for n in _agents(world, search="P")["agents"]["nodes"]] == ["agt-1", "agt-3"]


# ------------------------------------------------------------------------------ ranges


def test_from_after_to_is_compared_as_instants(world: World) -> None:
    # 01:00+02:00 on the 2nd is 23:00Z on the 1st: before `to`, so valid, and the day is the 1st.
    details = world.details(
        range={"from": "2026-11-02T01:00:00+02:00", "to": "2026-11-01T23:30:00Z"}
    )
    assert details["filterDate"] == {"from": "2026-11-01T00:00:00Z", "to": "2026-11-01T23:59:59Z"}
    assert details["usage"] == 2
    later = world.ask(range={"from": "2026-11-01T23:00:00Z", "to": "2026-11-02T00:30:00+02:00"})
    assert _codes(later) == ["INVALID_INPUT"]


def test_the_window_ends_with_the_current_months_last_second(world: World) -> None:
    edge = world.details(range={"from": "2026-09-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"})
    assert edge["filterDate"] == {"from": "2026-09-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
    assert edge["usage"] == 16


# ----------------------------------------------------------------------------- cursors


@pytest.mark.parametrize(
    "change",
    [
        {"range": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-29T23:59:59Z"}},
        {"filters": {"status": ["active"]}},
        {"sort": {"by": "name"}},
        {"sort": {"by": "usage", "order": "asc"}},
    ],
)
def test_a_cursor_is_bound_to_the_range_filters_and_sort(
    world: World, change: dict[str, Any]
) -> None:
    cursor = world.details(first=1)["automations"]["pageInfo"]["endCursor"]
    assert _codes(world.ask(after=cursor, **change)) == ["INVALID_INPUT"]


def test_a_cursor_is_bound_to_the_organization_not_to_first(harness: Harness) -> None:
    one, other = populated(harness), populated(harness)
    cursor = one.details(first=1)["automations"]["pageInfo"]["endCursor"]
    assert [n["id"] for n in one.details(first=2, after=cursor)["automations"]["nodes"]] == [
        "a9",
        "a2",
    ]
    stolen = harness.graphql(
        other.boss, AUTOMATIONS, {"org": other.org, "range": NOVEMBER, "after": cursor}
    )
    assert _codes(stolen) == ["INVALID_INPUT"]


# -------------------------------------------------------------------------- big counts


def test_job_counts_above_32_bits_are_exact_through_int(any_world: World) -> None:
    world = any_world
    world.send([world.job("big", "2026-11-10T10:00:00Z", 10**9) for _ in range(5)])
    details = world.details(search="big")
    assert details["usage"] == 5 * 10**9
    assert details["automations"]["nodes"] == [{"id": "big"}]


# ------------------------------------------------------------------ the automation.job event


def _rejected(world: World, data: dict[str, Any]) -> list[dict[str, Any]]:
    event = {
        "id": uuid.uuid4().hex,
        "source": "s",
        "type": "automation.job",
        "time": "2026-11-21T10:00:00Z",
        "organization": world.org,
        "data": data,
    }
    response = world.harness.http.post(
        "/v1/events", json=[event], headers={"Authorization": f"Bearer {world.key}"}
    )
    assert response.status_code == 200, response.text
    rejected: list[dict[str, Any]] = response.json()["rejected"]
    return rejected


@pytest.mark.parametrize(
    "data",
    [
        {"jobs": 1},
        {"automationId": "", "jobs": 1},
        {"automationId": "x" * 129, "jobs": 1},
        {"automationId": "a1", "automationName": "n" * 257},
        {"automationId": "a1", "jobs": 0},
        {"automationId": "a1", "jobs": 10**9 + 1},
        {"automationId": "a1", "jobs": 1.5},
        {"automationId": "a1", "jobs": True},
        {"automationId": "a1", "jobs": "3"},
    ],
)
def test_invalid_automation_job_events_are_rejected(world: World, data: dict[str, Any]) -> None:
    rejected = _rejected(world, data)
    assert [r["code"] for r in rejected] == ["INVALID_EVENT"], data


def test_automation_job_bounds_and_default_are_accepted(world: World) -> None:
    assert _rejected(world, {"automationId": "x" * 128, "automationName": "n" * 256}) == []
    assert _rejected(world, {"automationId": "edge", "jobs": 10**9}) == []
    details = world.details(search="n" * 256)
    assert details["usage"] == 1  # jobs defaults to 1


# ------------------------------------------------------- what JavaScript clients send


def test_date_range_bounds_with_milliseconds_as_javascript_sends_them(world: World) -> None:
    # `new Date(...).toISOString()` always carries milliseconds.
    details = world.details(
        range={"from": "2026-11-01T00:00:00.000Z", "to": "2026-11-30T23:59:59.999Z"}
    )
    assert details["filterDate"] == NOVEMBER and details["usage"] == 15


def test_explicit_nulls_mean_the_defaults(world: World) -> None:
    answer = world.details(
        search=None, filters={"status": None, "tags": None}, sort=None, first=None, after=None
    )
    assert answer["automations"]["totalCount"] == 5
    assert [n["id"] for n in answer["automations"]["nodes"]] == ["a1", "a9", "a2", "a8", "a3"]
    assert world.ids(sort={"by": None, "order": None}) == ["a1", "a9", "a2", "a8", "a3"]
    assert world.ids(search="") == ["a1", "a9", "a2", "a8", "a3"]


# ------------------------------------------------------------- creators, pipes, conflicts


def test_created_by_is_a_stable_opaque_id_with_the_users_name(world: World) -> None:
    first = world.details()["automations"]["edges"][0]["node"]["createdBy"]
    again = world.details()["automations"]["edges"][0]["node"]["createdBy"]
    assert first == again and first["name"] == "Ann" and first["avatarUrl"] is None
    assert world.email not in first["id"] and world.email.split("@")[0] not in first["id"]


def test_available_pipes_sort_by_name_then_uuid(harness: Harness) -> None:
    world = World(harness)
    low, high = sorted(str(uuid.uuid4()) for _ in range(2))
    harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "pipes": [
                        {"id": "z1", "uuid": high, "name": "Same"},
                        {"id": "z2", "uuid": low, "name": "Same"},
                        {"id": "z3", "name": "alpha"},
                    ],
                    "automations": [
                        {"id": "q1", "name": "Q", "action": "a", "event": "e",
                         "actionPipe": "z1", "eventPipe": "z2"},
                        {"id": "q2", "name": "R", "action": "a", "event": "e", "eventPipe": "z3"},
                    ],
                }
            ]
        }
    )  # fmt: skip
    pipes = world.details()["availableFilters"]["pipes"]
    assert [p["name"] for p in pipes] == ["alpha", "Sales", "Same", "Same", "Support"]
    assert [p["uuid"] for p in pipes[2:4]] == [low, high]
    uuid.UUID(pipes[0]["uuid"])  # generated when absent


def test_a_repeated_job_is_a_duplicate_and_a_changed_one_a_conflict(world: World) -> None:
    event = world.job("a3", "2026-11-21T09:30:00Z", 2)
    headers = {"Authorization": f"Bearer {world.key}"}
    first = world.harness.http.post("/v1/events", json=[event], headers=headers).json()
    again = world.harness.http.post("/v1/events", json=[event], headers=headers).json()
    changed = {**event, "data": {**event["data"], "jobs": 3}}
    conflict = world.harness.http.post("/v1/events", json=[changed], headers=headers).json()
    assert (first["accepted"], again["duplicates"]) == (1, 1)
    assert [r["code"] for r in conflict["rejected"]] == ["CONFLICT"]
    assert world.details(search="Zeta")["usage"] == 2


# ------------------------------------------------------------------- agents' catalog


AGENT_FILTERS = """query($org: ID!, $range: DateRange!, $filters: FilterParams) {
  agentsUsageDetails(organizationUuid: $org, filterDate: $range, filters: $filters) {
    availableFilters { action event status tags pipes { name } }
    agents { nodes { id name usage status action event tags { name } eventRepo { name } } }
  }
}"""


def test_agents_take_the_automation_fields_and_event_only_agents_are_named_by_id(
    world: World,
) -> None:
    harness = world.harness
    harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "agents": [
                        {"id": "agt-1", "name": "Invoice Processor", "action": "summarize",
                         "event": "card_created", "status": "inactive", "eventPipe": "p1",
                         "tags": ["finance"], "createdBy": world.email},
                    ],
                }
            ]
        }
    )  # fmt: skip
    at = datetime(2026, 11, 20, 9, 0)
    world.send([ai_credit(world.org, at, credits=1, agent="agt-7", agent_name=None)])

    def ask(filters: dict[str, Any] | None = None) -> dict[str, Any]:
        variables = {"org": world.org, "range": NOVEMBER, "filters": filters}
        answer = harness.graphql(world.boss, AGENT_FILTERS, variables)
        assert "errors" not in answer, answer
        result: dict[str, Any] = answer["data"]["agentsUsageDetails"]
        return result

    everything = ask()
    assert everything["availableFilters"] == {
        "action": ["summarize"],
        "event": ["card_created"],
        "status": ["active", "inactive"],
        "tags": ["finance"],
        "pipes": [{"name": "Sales"}],
    }
    nodes = {n["id"]: n for n in everything["agents"]["nodes"]}
    assert nodes["agt-7"]["name"] == "agt-7" and nodes["agt-7"]["status"] == "active"
    assert nodes["agt-1"]["eventRepo"] == {"name": "Sales"}
    assert "agt-2" not in nodes  # deleted and without usage in the range
    only = ask({"tags": "finance", "status": "INACTIVE"})["agents"]["nodes"]
    assert [n["id"] for n in only] == ["agt-1"]


def test_agents_need_super_admin_and_unknown_is_denied_alike(world: World) -> None:
    forbidden = world.harness.graphql(world.viewer, AGENTS, {"org": world.org, "range": NOVEMBER})
    unknown = world.harness.graphql(
        world.boss, AGENTS, {"org": str(uuid.uuid4()), "range": NOVEMBER}
    )
    assert _codes(forbidden) == _codes(unknown) == ["PERMISSION_DENIED"]
    assert forbidden["errors"][0]["message"] == unknown["errors"][0]["message"]
    assert forbidden["data"] == unknown["data"] == {"agentsUsageDetails": None}
