"""Exact answer reuse of ``automationsUsageDetails`` and ``agentsUsageDetails``
(decision 0010), on both engines: a repeated request, another order, search or page
of the same listing reads nothing again, and everything the answer shows -- an
ingested job or credit, a void, an adjustment, a catalog apply, a name an event
brings, a closed month -- changes the very next answer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support.corrections import adjust, correct, void
from tests.support.events import ai_credit
from tests.support.harness import Harness
from tests.support.months import set_month
from tests.support.world import AGENTS, NOVEMBER, World, populated

OCTOBER = {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:59:59Z"}


class Reads:
    """How often the listings were read from the database (the usage read starts every
    fresh listing; the catalog is prepared apart, ``stats/prepared_catalog.py``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from tallyboard.storage import usage_entry_reader

        self.count = 0
        real = usage_entry_reader.usage

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(usage_entry_reader, "usage", counting)


@pytest.fixture
def world(any_harness: Harness) -> World:
    return populated(any_harness)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


def usages(world: World, **variables: Any) -> list[tuple[str, str, int]]:
    connection = world.details(first=100, **variables)["automations"]
    edges = connection["edges"]
    assert [n["id"] for n in connection["nodes"]] == [e["node"]["id"] for e in edges]
    return [(e["node"]["id"], e["node"]["name"], e["node"]["usage"]) for e in edges]


def agents(world: World, **variables: Any) -> dict[str, Any]:
    variables.setdefault("range", NOVEMBER)
    answer = world.harness.graphql(
        world.boss, AGENTS, {"org": world.org, **variables}, "AgentsUsageDetails"
    )
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["agentsUsageDetails"]
    return result


def test_the_same_listing_is_read_once_for_every_order_search_and_page(
    world: World, reads: Reads
) -> None:
    first = world.details()
    assert world.details() == first
    assert world.ids(sort={"by": "name"}) == ["a8", "a2", "a9", "a1", "a3"]
    assert world.ids(search="move") == ["a1"]
    page = world.details(first=2)["automations"]
    after = world.details(first=2, after=page["pageInfo"]["endCursor"])["automations"]
    assert [n["id"] for n in after["nodes"]] == ["a2", "a8"]
    assert reads.count == 1
    world.details(range=OCTOBER)  # another day range is another listing
    assert reads.count == 2
    # A cursor of the reused answer is still bound to its arguments.
    cursor = page["pageInfo"]["endCursor"]
    codes = [e["extensions"]["code"] for e in world.ask(after=cursor, search="a")["errors"]]
    assert codes == ["INVALID_INPUT"]


def test_a_reused_answer_is_only_for_principals_the_policy_admits(
    world: World, reads: Reads
) -> None:
    assert world.details()["usage"] == 15
    denied = world.ask(world.viewer)
    assert [e["extensions"]["code"] for e in denied["errors"]] == ["PERMISSION_DENIED"]
    assert reads.count == 1


def test_an_ingested_job_changes_the_next_answer(world: World, reads: Reads) -> None:
    before = usages(world)
    assert before[0] == ("a1", "Move won deals", 7)
    world.send([world.job("a3", "2026-11-21T08:00:00Z", 9)])
    after = usages(world)
    assert after[0] == ("a3", "Zeta", 9)
    assert world.details()["usage"] == 24
    assert reads.count == 2


def test_a_name_an_event_brings_changes_the_next_answer(world: World, reads: Reads) -> None:
    assert ("a8", "a8", 0) in usages(world, range=OCTOBER)
    # A job in November names a8: the October listing shows the new name.
    world.send([world.job("a8", "2026-11-21T10:15:00Z", 1, "Named later")])
    assert ("a8", "Named later", 0) in usages(world, range=OCTOBER)
    assert reads.count == 2


def test_a_void_and_an_adjustment_change_the_next_answer(world: World, reads: Reads) -> None:
    credit = ai_credit(world.org, datetime(2026, 11, 20, 9), credits=2.5, agent_name=None)
    world.send([credit])
    assert agents(world)["usage"] == 2.5
    assert agents(world)["usage"] == 2.5
    assert reads.count == 1
    outcome = correct(world.harness, [void(world.org, credit)])
    assert outcome["applied"] == 1, outcome
    assert agents(world)["usage"] == 0
    assert reads.count == 2

    assert usages(world, search="Zeta") == [("a3", "Zeta", 0)]
    data = {"automationId": "a3", "jobs": 6}
    entry = adjust(world.org, "adj-a3", "automation.job", data, time="2026-11-20T12:00:00Z")
    outcome = correct(world.harness, [entry])
    assert outcome["applied"] == 1, outcome
    assert usages(world, search="Zeta") == [("a3", "Zeta", 6)]

    job = world.job("a3", "2026-11-20T13:00:00Z", 4)
    world.send([job])
    assert usages(world, search="Zeta") == [("a3", "Zeta", 10)]
    outcome = correct(world.harness, [void(world.org, job)])
    assert outcome["applied"] == 1, outcome
    assert usages(world, search="Zeta") == [("a3", "Zeta", 6)]


def test_a_catalog_apply_changes_the_next_answer(world: World, reads: Reads) -> None:
    assert ("a3", "Zeta", 0) in usages(world)
    assert agents(world)["agents"]["nodes"][0]["name"] == "Invoice Processor"
    reads_before = reads.count
    renamed = {
        "id": world.org_id,
        "uuid": world.org,
        "name": "Acme",
        "automations": [
            {"id": "a3", "name": "Zeta renamed", "action": "create_card", "event": "form_submitted"}
        ],
        "agents": [{"id": "agt-1", "name": "Invoice Reader"}],
        "pipes": [{"id": "p1", "uuid": world.sales, "name": "Sales, renamed", "icon": "cart"}],
    }
    world.harness.apply({"organizations": [renamed]})
    assert ("a3", "Zeta renamed", 0) in usages(world)
    assert agents(world)["agents"]["nodes"][0]["name"] == "Invoice Reader"
    first = world.details()["automations"]["edges"][0]["node"]
    assert first["actionRepo"]["name"] == "Sales, renamed"
    assert reads.count == reads_before + 2


def test_closing_and_reopening_a_month_changes_final_of_a_reused_answer(
    world: World, reads: Reads
) -> None:
    open_answer = world.details(range=OCTOBER)
    assert open_answer["final"] is False
    set_month(world.harness, "2026-10", "close")
    closed = world.details(range=OCTOBER)
    assert closed == {**open_answer, "final": True}
    assert agents(world, range=OCTOBER)["usage"] == 0
    set_month(world.harness, "2026-10", "reopen")
    assert world.details(range=OCTOBER) == open_answer
    assert reads.count == 2  # the October automations listing, then the agents one
