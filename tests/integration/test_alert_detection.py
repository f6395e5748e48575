"""Thresholds and forecasts recorded in the transaction of the write that made them true
(spec §10): ingest, backfill, the metering flush and an apply, once whatever the number
of processes, with a delivery for each matching webhook."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tallyboard.admin.draft import read_document
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.settings import Settings
from tallyboard.storage import alert_tables as at
from tallyboard.storage import tables as t
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.events import ai_credit, api_call, task_run
from tests.support.harness import DEFAULT_NOW

NOW = DEFAULT_NOW  # 2026-11-21 10:30 UTC
NO_FORECAST = {"thresholds": [80, 100], "forecast": False}


class Node:
    def __init__(self, database_url: str) -> None:
        self.clock = FixedClock(NOW)
        self.services: Components = build_components(
            Settings(database_url=database_url, webhook_allow_private=True), clock=self.clock
        )

    def ingest(self, events: list[Any], *, backfill: bool = False) -> Any:
        return self.services.ingest.ingest_events(events, bound_org_pk=None, backfill=backfill)

    def apply(self, document: dict[str, Any]) -> Any:
        return self.services.applier.apply(read_document(document))

    def alerts(self, org_id: str) -> list[tuple[Any, ...]]:
        a, o = at.usage_alerts, t.organizations
        query = (
            select(a.c.type, a.c.resource, a.c.month, a.c.threshold, a.c.usage, a.c.allowance)
            .join(o, o.c.pk == a.c.org_pk)
            .where(o.c.id == org_id)
            .order_by(a.c.pk)
        )
        with self.services.database.read() as conn:
            return [tuple(row) for row in conn.execute(query)]


@pytest.fixture
def node(database_url: str) -> Iterator[Node]:
    node = Node(database_url)
    yield node
    node.services.database.dispose()


def new_org(node: Node, allowances: dict[str, Any], **extra: Any) -> tuple[str, str]:
    org_id, org_uuid = f"a{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
    org = {
        "id": org_id,
        "uuid": org_uuid,
        "name": f"Alerts {org_id}",
        "settings": [{"effectiveFrom": "2026-09", "allowances": allowances}],
        **extra,
    }
    node.apply({"organizations": [org], "ingestKeys": [{"name": f"k-{org_id}"}]})
    return org_id, org_uuid


def calls(org_uuid: str, count: int, at: Any = NOW - timedelta(hours=1)) -> list[Any]:
    return [api_call(org_uuid, at, count=count)]


def test_ingest_records_each_threshold_once_when_crossed(node: Node) -> None:
    org_id, org = new_org(node, {"apiCalls": 100}, alerts=NO_FORECAST)
    node.ingest(calls(org, 79))
    assert node.alerts(org_id) == []
    node.ingest(calls(org, 1))
    assert node.alerts(org_id) == [("usage.threshold_crossed", "apiCalls", "2026-11", 80, 80, 100)]
    node.ingest(calls(org, 30))
    node.ingest(calls(org, 500))
    assert [a[3:5] for a in node.alerts(org_id)] == [(80, 80), (100, 110)]


def test_tasks_and_credits_cross_in_their_own_units(node: Node) -> None:
    org_id, org = new_org(
        node,
        {"integrationTasks": 10, "aiCredits": 2.5},
        alerts={"thresholds": [50], "forecast": False},
    )
    node.ingest([task_run(org, NOW - timedelta(hours=2), tasks=5)])
    node.ingest([ai_credit(org, NOW - timedelta(hours=2), credits=1.25)])
    assert node.alerts(org_id) == [
        ("usage.threshold_crossed", "integrationTasks", "2026-11", 50, 5, 10),
        ("usage.threshold_crossed", "aiCredits", "2026-11", 50, 1_250_000, 2_500_000),
    ]


def test_backfill_records_the_month_it_writes(node: Node) -> None:
    org_id, org = new_org(node, {"apiCalls": 10}, alerts=NO_FORECAST)
    october = NOW.replace(month=10, day=3)
    node.ingest(calls(org, 9, october), backfill=True)
    assert [a[2:4] for a in node.alerts(org_id)] == [("2026-10", 80)]


def test_the_metering_flush_records_what_it_crosses(node: Node) -> None:
    org_id, _ = new_org(node, {"apiCalls": 5}, alerts=NO_FORECAST)
    database = node.services.database
    with database.read() as conn:
        pk = conn.execute(select(t.organizations.c.pk).where(t.organizations.c.id == org_id))
        org_pk = pk.scalar_one()
    writer = RollupWriter(database.dialect, 10, AlertDetector(node.clock))
    deltas = RollupDeltas()
    deltas.add_api_calls((org_pk, date(2026, 11, 21), "GetCards", "bot"), 5)
    assert FlushStore(database, writer).apply(str(uuid.uuid4()), deltas, applied_at_ms=1).applied
    assert [a[3] for a in node.alerts(org_id)] == [80, 100]


def test_an_apply_that_lowers_the_allowance_or_adds_a_threshold_fires_at_once(
    node: Node,
) -> None:
    org_id, org = new_org(node, {"apiCalls": 100}, alerts=NO_FORECAST)
    node.ingest(calls(org, 60))
    assert node.alerts(org_id) == []
    override = {"id": org_id, "name": f"Alerts {org_id}", "alerts": {"thresholds": [50]}}
    node.apply({"organizations": [override]})
    assert [a[3] for a in node.alerts(org_id)] == [50]
    lowered = dict(override, settings=[{"allowances": {"apiCalls": 60}}])
    node.apply({"organizations": [lowered]})
    assert [(a[3], a[5]) for a in node.alerts(org_id)] == [(50, 100)]  # 50 fired once
    node.apply({"alerts": {"thresholds": [100]}, "organizations": [dict(lowered, alerts={})]})
    assert [(a[3], a[5]) for a in node.alerts(org_id)] == [(50, 100), (100, 60)]


def test_a_resource_without_an_allowance_records_nothing(node: Node) -> None:
    org_id, org = new_org(node, {"integrationTasks": 10})
    node.ingest(calls(org, 10_000))
    assert node.alerts(org_id) == []


def test_the_forecast_fires_once_when_the_pace_reaches_the_allowance(node: Node) -> None:
    org_id, org = new_org(node, {"apiCalls": 100}, alerts={"thresholds": [100]})
    node.ingest(calls(org, 50))  # 50 after 20.4 days of 30: on pace for 73
    assert node.alerts(org_id) == []
    node.ingest(calls(org, 20))  # 70: on pace for 102
    assert [a[0] for a in node.alerts(org_id)] == ["usage.forecast_exceeded"]
    with node.services.database.read() as conn:
        row = conn.execute(select(at.usage_alerts)).one()
    assert row.threshold is None and row.projected_usage == 102
    node.ingest(calls(org, 5))
    assert len(node.alerts(org_id)) == 1


def test_deliveries_follow_the_webhooks_organizations_and_events(node: Node) -> None:
    org_id, org = new_org(node, {"apiCalls": 10}, alerts=NO_FORECAST)
    other_id, _ = new_org(node, {"apiCalls": 10})
    url = "http://127.0.0.1:9/hook"
    node.apply(
        {
            "webhooks": [
                {"name": f"all-{org_id}", "url": url},
                {"name": f"mine-{org_id}", "url": url, "organizations": [org_id]},
                {"name": f"other-{org_id}", "url": url, "organizations": [other_id]},
                {"name": f"fc-{org_id}", "url": url, "events": ["usage.forecast_exceeded"]},
            ]
        }
    )
    node.ingest(calls(org, 8))
    d, w = at.webhook_deliveries, at.webhooks
    with node.services.database.read() as conn:
        rows = conn.execute(
            select(w.c.name, d.c.status, d.c.attempts).join(w, w.c.pk == d.c.webhook_pk)
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        (f"all-{org_id}", "pending", 0),
        (f"mine-{org_id}", "pending", 0),
    ]


def test_two_processes_sending_the_same_crossing_record_it_once(database_url: str) -> None:
    nodes = [Node(database_url) for _ in range(2)]
    org_id, org = new_org(nodes[0], {"apiCalls": 100}, alerts=NO_FORECAST)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def send(node: Node) -> None:
        try:
            barrier.wait()
            for _ in range(5):
                node.ingest(calls(org, 30))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(n,)) for n in nodes * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sorted(a[3] for a in nodes[0].alerts(org_id)) == [80, 100]
    for node in nodes:
        node.services.database.dispose()


def test_the_hourly_sweep_fires_a_forecast_the_first_day_could_not(node: Node) -> None:
    first_morning = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    node.clock.set(first_morning)
    org_id, org = new_org(node, {"apiCalls": 100}, alerts={"thresholds": []})
    node.ingest(calls(org, 10, first_morning - timedelta(hours=1)))
    assert node.alerts(org_id) == []  # within the first 24 hours: no forecast
    node.clock.set(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))  # 25 h: on pace for 288
    dispatcher = node.services.alerts.dispatcher
    assert dispatcher.sweep_current_month() == 1
    assert [a[0] for a in node.alerts(org_id)] == ["usage.forecast_exceeded"]
    assert dispatcher.sweep_current_month() == 0


def test_an_apply_fires_this_months_thresholds_but_does_not_replay_history(node: Node) -> None:
    org_id, org = new_org(node, {"integrationTasks": 10}, alerts=NO_FORECAST)
    october = NOW.replace(month=10, day=3)
    node.ingest(calls(org, 90, october), backfill=True)  # no calls allowance yet
    node.ingest(calls(org, 90))
    assert node.alerts(org_id) == []
    allowance = [{"effectiveFrom": "2026-09", "allowances": {"apiCalls": 100}}]
    node.apply(
        {"organizations": [{"id": org_id, "name": f"Alerts {org_id}", "settings": allowance}]}
    )
    assert [a[2:4] for a in node.alerts(org_id)] == [("2026-11", 80)]


def test_an_organization_with_alerts_off_costs_its_writes_nothing(node: Node) -> None:
    org_id, org = new_org(node, {"apiCalls": 100}, alerts={"thresholds": [], "forecast": False})
    watched_id, _ = new_org(node, {"apiCalls": 100})
    with node.services.database.read() as conn:
        ids = {plan.org_id for plan in AlertDetector(node.clock).plan(conn).orgs.values()}
    assert watched_id in ids and org_id not in ids  # its writes skip the totals read
    node.ingest(calls(org, 100))
    assert node.alerts(org_id) == []
    override = {"id": org_id, "name": f"Alerts {org_id}", "alerts": {"thresholds": [100]}}
    node.apply({"organizations": [override]})  # turned on: fires what is reached at once
    assert [a[3] for a in node.alerts(org_id)] == [100]
