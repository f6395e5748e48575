"""Pipes, automations and the agents' new fields through ``admin apply``, and
``automation.job`` events through ingest and backfill, on both engines (spec §9, §5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tallyboard.admin.applier import Applier, ApplyResult
from tallyboard.admin.draft import read_document
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.errors import InvalidInputError
from tallyboard.settings import Settings
from tallyboard.storage import tables as t
from tallyboard.storage.tables_automation import (
    automation_jobs_daily,
    automation_jobs_monthly,
    automations,
    pipes,
)
from tests.support.events import iso
from tests.support.harness import DEFAULT_NOW

NOW = DEFAULT_NOW
NOW_MS = int(NOW.timestamp() * 1000)


class World:
    def __init__(self, database_url: str) -> None:
        self.clock = FixedClock(NOW)
        self.services: Components = build_components(
            Settings(database_url=database_url), clock=self.clock
        )
        self.org_id = uuid.uuid4().hex[:10]
        self.org_uuid = str(uuid.uuid4())
        self.email = f"ann-{self.org_id}@acme.test"

    def document(self, **org: Any) -> dict[str, Any]:
        return {
            "organizations": [{"id": self.org_id, "uuid": self.org_uuid, "name": "Acme", **org}],
            "users": [
                {
                    "email": self.email,
                    "name": "Ann",
                    "memberships": [{"organization": self.org_id, "role": "admin"}],
                }
            ],
        }

    def apply(self, document: dict[str, Any]) -> ApplyResult:
        return Applier(self.services.database, self.clock).apply(read_document(document))

    def ingest(self, events: list[dict[str, Any]], *, backfill: bool = False) -> Any:
        return self.services.ingest.ingest_events(events, bound_org_pk=None, backfill=backfill)

    def job(self, automation: str, minutes_ago: int, **data: Any) -> dict[str, Any]:
        return {
            "id": data.pop("event_id", f"evt-{uuid.uuid4().hex}"),
            "source": "automations",
            "type": "automation.job",
            "time": iso(NOW - timedelta(minutes=minutes_ago)),
            "organization": self.org_uuid,
            "data": {"automationId": automation, **data},
        }

    def rows(self, table: Any) -> list[dict[str, Any]]:
        with self.services.database.read() as conn:
            org = conn.execute(
                select(t.organizations.c.pk).where(t.organizations.c.uuid == self.org_uuid)
            ).scalar_one()
            found = conn.execute(select(table).where(table.c.org_pk == org)).mappings()
            return [dict(row) for row in found]


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    w = World(database_url)
    yield w
    w.services.database.dispose()


CATALOG = {
    "settings": [
        {"effectiveFrom": "2026-09", "allowances": {"automationJobs": 5000}, "planName": "Pro"}
    ],
    "pipes": [
        {"id": "pipe-1", "name": "Sales", "icon": "cart", "color": "blue"},
        {"id": "pipe-2", "uuid": "0b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e11", "name": "Support"},
    ],
    "automations": [
        {
            "id": "auto-1",
            "name": "Move won deals",
            "action": "move_card",
            "event": "card_moved",
            "status": "Inactive",
            "actionPipe": "pipe-1",
            "eventPipe": "pipe-2",
            "tags": ["sales", "crm", "sales"],
            "createdAt": "2026-09-01T08:00:00Z",
        },
        {"id": "auto-2", "name": "Old", "action": "create_card", "event": "form", "deleted": True},
    ],
    "agents": [{"id": "agt-1", "name": "Invoice Processor", "eventPipe": "pipe-1"}],
}


def _with_creator(world: World) -> dict[str, Any]:
    catalog: dict[str, Any] = orjson.loads(orjson.dumps(CATALOG))
    catalog["automations"][0]["createdBy"] = world.email.upper()
    catalog["agents"][0]["createdBy"] = world.email
    return catalog


def test_the_catalog_is_applied_whole_and_again_changes_nothing(world: World) -> None:
    first = world.apply(world.document(**_with_creator(world)))
    assert first.changes["pipes written"] == 2
    assert first.changes["automations written"] == 2
    stored = {row["pipe_id"]: row for row in world.rows(pipes)}
    assert stored["pipe-2"]["uuid"] == "0b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e11"
    uuid.UUID(stored["pipe-1"]["uuid"])  # generated
    auto = {row["automation_id"]: row for row in world.rows(automations)}
    one = auto["auto-1"]
    assert (one["name"], one["status"], one["action_pipe"], one["event_pipe"]) == (
        "Move won deals",
        "inactive",
        "pipe-1",
        "pipe-2",
    )
    assert orjson.loads(one["tags"]) == ["crm", "sales"]
    assert one["created_by"] == world.email
    assert one["created_at"] == int(NOW.replace(2026, 9, 1, 8, 0, 0, 0).timestamp() * 1000)
    assert auto["auto-2"]["deleted"] and auto["auto-2"]["created_at"] == NOW_MS
    assert one["updated_at"] == NOW_MS
    again = world.apply(world.document(**_with_creator(world)))
    assert not again.changes, again.changes
    assert {row["pipe_id"]: row["uuid"] for row in world.rows(pipes)} == {
        k: v["uuid"] for k, v in stored.items()
    }
    settings = world.rows(t.organization_settings)
    assert orjson.loads(settings[0]["changes"]) == {"automation_jobs": 5000, "plan_name": "Pro"}


def test_every_reference_problem_is_reported_and_nothing_is_written(world: World) -> None:
    world.apply(world.document(pipes=[{"id": "pipe-1", "name": "Sales"}]))
    stored_uuid = world.rows(pipes)[0]["uuid"]
    bad = world.document(
        pipes=[
            {"id": "pipe-1", "uuid": str(uuid.uuid4()), "name": "Sales"},
            {"id": "pipe-9", "name": "Nine"},
        ],
        automations=[
            {"id": "a", "name": "A", "action": "x", "event": "y", "eventPipe": "pipe-7"},
            {"id": "a", "name": "B", "action": "x", "event": "y", "createdBy": "who@x.test"},
            {"id": "c", "name": "C", "event": "y", "status": "paused"},
        ],
        agents=[{"id": "g", "actionPipe": "nope"}],
    )
    with pytest.raises(InvalidInputError) as raised:
        world.apply(bad)
    paths = {p.path: p.reason for p in raised.value.problems}
    prefix = "organizations[0]"
    assert set(paths) == {
        f"{prefix}.automations[2].action",
        f"{prefix}.automations[2].status",
        f"{prefix}.pipes[0].uuid",
        f"{prefix}.automations[0].eventPipe",
        f"{prefix}.automations[1].id",
        f"{prefix}.automations[1].createdBy",
        f"{prefix}.agents[0].actionPipe",
    }, paths
    assert [row["pipe_id"] for row in world.rows(pipes)] == ["pipe-1"]
    assert world.rows(pipes)[0]["uuid"] == stored_uuid
    assert world.rows(automations) == []


def test_jobs_are_counted_exactly_once_per_day_and_month(world: World) -> None:
    world.apply(world.document(**CATALOG))
    events = [
        world.job("auto-1", 30, jobs=3, event_id="j1"),
        world.job("auto-1", 20, event_id="j2"),  # jobs defaults to 1
        world.job("auto-9", 10, automationName="From events", jobs=2, event_id="j3"),
    ]
    result = world.ingest(events)
    assert (result.accepted, result.duplicates, result.rejected) == (3, 0, [])
    replay = world.ingest([*events, {**events[0], "data": {"automationId": "auto-1", "jobs": 4}}])
    assert (replay.accepted, replay.duplicates) == (0, 3)
    assert [r.code for r in replay.rejected] == ["CONFLICT"]
    daily = {
        (r["day"], r["automation_id"]): (r["jobs"], r["last_job_at"])
        for r in world.rows(automation_jobs_daily)
    }
    day = NOW.date().isoformat()
    assert daily == {
        (day, "auto-1"): (4, NOW_MS - 20 * 60_000),
        (day, "auto-9"): (2, NOW_MS - 10 * 60_000),
    }
    monthly = {r["automation_id"]: r["jobs"] for r in world.rows(automation_jobs_monthly)}
    assert monthly == {"auto-1": 4, "auto-9": 2}
    totals = world.rows(t.usage_totals_monthly)
    assert [row["jobs"] for row in totals] == [6]
    known = {row["automation_id"]: row for row in world.rows(automations)}
    assert known["auto-9"]["name"] == "From events"
    assert known["auto-9"]["status"] == "active"
    assert known["auto-9"]["first_event_at"] == NOW_MS - 10 * 60_000


def test_bad_jobs_are_rejected_naming_the_field_and_count_nothing(world: World) -> None:
    world.apply(world.document())
    bad = [
        world.job("auto-1", 1, jobs=0),
        world.job("auto-1", 1, jobs=10**9 + 1),
        world.job("auto-1", 1, jobs="3"),
        {**world.job("x", 1), "data": {"jobs": 1}},
        world.job("a" * 129, 1),
        world.job("auto-1", 1, automationName="n" * 257),
    ]
    result = world.ingest(bad)
    assert result.accepted == 0
    messages = [r.message for r in result.rejected]
    assert [r.code for r in result.rejected] == ["INVALID_EVENT"] * len(bad)
    for message, field in zip(
        messages,
        [
            "data.jobs",
            "data.jobs",
            "data.jobs",
            "data.automationId",
            "data.automationId",
            "data.automationName",
        ],
        strict=True,
    ):
        assert message.startswith(field), message
    assert world.rows(automation_jobs_daily) == []
    assert world.rows(automations) == []


def test_backfill_takes_older_jobs_and_an_event_name_stays_until_the_document_changes(
    world: World,
) -> None:
    world.apply(world.document(**CATALOG))
    old = world.job("auto-1", 60 * 24 * 50, jobs=5, automationName="Renamed by events")
    assert world.ingest([old]).rejected[0].code == "OUT_OF_WINDOW"
    assert world.ingest([old], backfill=True).accepted == 1
    world.clock.set(NOW + timedelta(minutes=5))
    newer = world.job("auto-1", -1, automationName="Renamed by events")
    world.ingest([newer])
    assert world.rows(automations)[0]["name"] == "Renamed by events"
    # An unchanged entry changes nothing, not even a name an event set since.
    assert not world.apply(world.document(**CATALOG)).changes
    assert world.rows(automations)[0]["name"] == "Renamed by events"
    changed = orjson.loads(orjson.dumps(CATALOG))
    changed["automations"][0]["name"] = "Move won deals v2"
    assert world.apply(world.document(**changed)).changes["automations written"] == 1
    row = {r["automation_id"]: r for r in world.rows(automations)}["auto-1"]
    assert row["name"] == "Move won deals v2"
    assert row["status"] == "inactive"
    months = {r["month"]: r["jobs"] for r in world.rows(automation_jobs_monthly)}
    assert sum(months.values()) == 6 and len(months) == 2


def test_an_unchanged_flow_keeps_the_name_an_event_gave_it(world: World) -> None:
    flows = [{"id": "flow-1", "name": "Sync CRM", "project": {"id": "p", "name": "Sales"}}]
    world.apply(world.document(flows=flows))
    renamed = {
        "id": "evt-flow",
        "source": "runner",
        "type": "integration.task",
        "time": iso(NOW + timedelta(minutes=1)),
        "organization": world.org_uuid,
        "data": {"flowId": "flow-1", "flowName": "Sync CRM (events)", "tasks": 1},
    }
    assert world.ingest([renamed]).accepted == 1
    assert not world.apply(world.document(flows=flows)).changes
    assert world.rows(t.flows)[0]["name"] == "Sync CRM (events)"
    world.clock.set(NOW + timedelta(minutes=5))
    changed = [{**flows[0], "status": "DISABLED"}]
    assert world.apply(world.document(flows=changed)).changes["flows written"] == 1
    row = world.rows(t.flows)[0]
    assert (row["name"], row["status"]) == ("Sync CRM (events)", "DISABLED")


def test_a_broken_pipe_entry_hides_no_problem_and_invents_none(world: World) -> None:
    document = world.document(
        pipes=[{"id": "p1", "name": "Sales", "colour": "red"}],  # an unknown key
        automations=[
            {"id": "a", "name": "A", "action": "x", "event": "y", "eventPipe": "p1"},
            {"id": "b", "name": "B", "action": "x", "event": "y", "createdBy": "no@x.test"},
        ],
    )
    with pytest.raises(InvalidInputError) as raised:
        world.apply(document)
    assert [p.path for p in raised.value.problems] == [
        "organizations[0].pipes[0].colour",
        "organizations[0].automations[1].createdBy",
    ]
