"""The prepared catalog of the automations and agents listings (decision 0010), on a
server that reuses no answer (``TALLYBOARD_ANSWER_REUSE=false``, the cold server): it
outlives usage changes, and every catalog change -- an apply renaming an entry, an event
whose name wins, a new entry an event brings, a deletion -- shows in the next answer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.combined import Pair
from tests.support.harness import Harness
from tests.support.world import AGENTS, NOVEMBER, World, populated


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    with Harness(database_url, answer_reuse=False) as harness:
        yield populated(harness)


class Reads:
    """How often an automations or agents catalog was read from the database."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from tallyboard.storage import usage_entry_reader

        self.count = 0
        real = usage_entry_reader.catalog

        def counting(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(usage_entry_reader, "catalog", counting)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Reads:
    return Reads(monkeypatch)


def usages(world: World) -> dict[str, tuple[str | None, int]]:
    edges = world.details(first=100)["automations"]["edges"]
    return {e["node"]["id"]: (e["node"]["name"], e["node"]["usage"]) for e in edges}


def agent_names(world: World) -> list[str | None]:
    variables = {"org": world.org, "range": NOVEMBER}
    answer = world.harness.graphql(world.boss, AGENTS, variables, "AgentsUsageDetails")
    assert "errors" not in answer, answer
    return [n["name"] for n in answer["data"]["agentsUsageDetails"]["agents"]["nodes"]]


def document(world: World, **organization: Any) -> dict[str, Any]:
    base = {"id": world.org_id, "uuid": world.org, "name": "Acme"}
    return {"organizations": [{**base, **organization}]}


def test_usage_changes_keep_the_prepared_catalog(world: World, reads: Reads) -> None:
    assert usages(world)["a1"] == ("Move won deals", 7)
    before = reads.count
    world.send([world.job("a1", "2026-11-21T10:10:00Z", 2, "Move won deals")])
    assert usages(world)["a1"] == ("Move won deals", 9)
    world.send([world.job("a2", "2026-11-21T10:20:00Z", 1)])
    assert usages(world)["a2"] == ("archive cards", 4)
    assert reads.count == before  # usage only: the catalog was not read again


def test_an_apply_renaming_an_automation_shows_next(world: World, reads: Reads) -> None:
    assert usages(world)["a3"] == ("Zeta", 0)
    before = reads.count
    renamed = {"id": "a3", "name": "Zeta renamed", "action": "create_card", "event": "form"}
    world.harness.apply(document(world, automations=[renamed]))
    assert usages(world)["a3"] == ("Zeta renamed", 0)
    assert reads.count == before + 1


def test_an_event_whose_name_wins_shows_next(world: World) -> None:
    assert usages(world)["a9"] == ("From events", 4)
    world.send([world.job("a9", "2026-11-21T10:20:00Z", 1, "Renamed by events")])
    assert usages(world)["a9"] == ("Renamed by events", 5)


def test_an_event_naming_a_new_automation_shows_next(world: World) -> None:
    assert "a7" not in usages(world)
    world.send([world.job("a7", "2026-11-21T10:20:00Z", 3, "Brand new")])
    assert usages(world)["a7"] == ("Brand new", 3)


def test_an_earlier_first_event_shows_next(world: World) -> None:
    def created(automation: str) -> Any:
        edges = world.details(first=100)["automations"]["edges"]
        return next(e["node"]["createdAt"] for e in edges if e["node"]["id"] == automation)

    assert created("a9") == "2026-11-21T10:00:00Z"
    world.send([world.job("a9", "2026-11-03T10:00:00Z", 1)])
    assert created("a9") == "2026-11-03T10:00:00Z"


def test_a_deletion_shows_next(world: World) -> None:
    assert usages(world)["a3"] == ("Zeta", 0)
    assert agent_names(world) == ["Invoice Processor"]
    world.harness.apply(
        document(
            world,
            automations=[
                {"id": "a3", "name": "Zeta", "action": "x", "event": "y", "deleted": True}
            ],
            agents=[{"id": "agt-1", "name": "Invoice Processor", "deleted": True}],
        )
    )
    assert "a3" not in usages(world)
    assert agent_names(world) == []


def test_the_combined_listing_shows_catalog_changes_next(database_url: str) -> None:
    with Harness(database_url, answer_reuse=False, cache_ttl=1e-6) as harness:
        pair = Pair(harness)

        def names() -> dict[str, str]:
            # The per-organization cache's TTL runs on the test's clock: let it pass.
            harness.clock.set(harness.clock.now() + timedelta(milliseconds=1))
            top = pair.combined([pair.a.org])["topAutomations"]
            return {row["id"]: row["name"] for row in top}

        assert names()["a9"] == "From events"
        pair.a.send([pair.a.job("a9", "2026-11-21T10:20:00Z", 1, "Renamed by events")])
        assert names()["a9"] == "Renamed by events"
        renamed = {"id": "a1", "name": "Moved", "action": "move_card", "event": "card_moved"}
        harness.apply(document(pair.a, automations=[renamed]))
        assert names()["a1"] == "Moved"
