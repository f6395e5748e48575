"""Catalog facts in the database, on both engines: each attribute is the newest fact that
states it, however the facts are split into transactions and ordered (domain/catalog.py)."""

from __future__ import annotations

import random
from typing import Any

from sqlalchemy import select

from tallyboard.domain.catalog import CatalogFacts, FlowFact, ProjectFact
from tallyboard.storage import catalog_store
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.rollup_writes import new_org

NOTHING = (0, None)


def _facts(org: int) -> list[CatalogFacts]:
    """Single facts about one flow and its projects, in time order."""
    flows: list[FlowFact] = [
        ((0, "f"), NOTHING),
        ((10, "Sync"), (10, "p1")),
        ((20, "Sync v2"), NOTHING),
        ((0, "f"), (30, "p2")),
        ((40, "Sync v3"), NOTHING),
        ((40, "Sync v0"), NOTHING),  # the same time: the greater value wins, every time
    ]
    projects: list[ProjectFact] = [
        ((10, "Sales"), (10, "cart"), (10, "blue")),
        ((15, "Sales EU"), NOTHING, NOTHING),
        ((12, "Sales old"), (12, "bag"), NOTHING),
    ]
    out = [CatalogFacts(flows={(org, "f"): fact}) for fact in flows]
    out += [CatalogFacts(projects={(org, "p1"): fact}) for fact in projects]
    return out


def _catalog(database: Database, org: int) -> tuple[Any, ...]:
    f, p = t.flows, t.projects
    with database.read() as conn:
        flow = conn.execute(
            select(f.c.name_at, f.c.name, f.c.project_at, f.c.project_id).where(f.c.org_pk == org)
        ).one()
        project = conn.execute(select(p.c.name, p.c.icon, p.c.color).where(p.c.org_pk == org)).one()
    return tuple(flow), tuple(project)


def test_the_newest_statement_of_each_attribute_wins_in_any_order(database_url: str) -> None:
    database = Database(database_url)
    rng = random.Random(11)
    outcomes = set()
    for _ in range(4):
        org = new_org(database)
        facts = _facts(org)
        rng.shuffle(facts)
        for fact in facts:
            with database.write() as conn:
                catalog_store.apply_facts(conn, database.dialect, fact, 1)
        outcomes.add(_catalog(database, org))
    assert outcomes == {((40, "Sync v3", 30, "p2"), ("Sales EU", "bag", "blue"))}
    database.dispose()


def test_agents_and_automations_named_by_events_in_any_order(database_url: str) -> None:
    """Newest name wins, the first event's time is kept, and ``updated_at`` moves only
    when the winning name changes what is stored (spec §9)."""
    from tallyboard.storage.tables_automation import automations

    database = Database(database_url)
    rng = random.Random(5)
    facts = [((10, "One"), 100), ((30, "Three"), 300), ((0, None), 50), ((20, "Two"), 200)]
    outcomes = set()
    for _ in range(4):
        org = new_org(database)
        order = list(enumerate(facts))
        rng.shuffle(order)
        for now, (_, fact) in enumerate(order, start=1000):
            named = CatalogFacts(agents={(org, "g"): fact}, automations={(org, "a"): fact})
            with database.write() as conn:
                catalog_store.apply_facts(conn, database.dialect, named, now)
        with database.read() as conn:
            for table, key in (
                (t.agents, t.agents.c.agent_id),
                (automations, automations.c.automation_id),
            ):
                row = conn.execute(
                    select(
                        key, table.c.name, table.c.name_at, table.c.first_event_at, table.c.status
                    ).where(table.c.org_pk == org)
                ).one()
                outcomes.add(tuple(row))
    assert outcomes == {("g", "Three", 30, 50, "active"), ("a", "Three", 30, 50, "active")}
    database.dispose()
