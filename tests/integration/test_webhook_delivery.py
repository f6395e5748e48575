"""Delivering alerts to a real local receiver (spec §10): Standard Webhooks signatures
checked independently, the retry schedule, 410, timeouts, leases, restarts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from tallyboard.admin.draft import read_document
from tallyboard.alerts.dispatcher import Dispatcher
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings
from tallyboard.storage import alert_tables as at
from tallyboard.storage import delivery_store
from tallyboard.storage.alert_detector import AlertDetector
from tests.support.events import ai_credit, api_call, task_run
from tests.support.harness import DEFAULT_NOW
from tests.support.webhook_receiver import Receiver, running_receiver

NOW = DEFAULT_NOW


class World:
    def __init__(self, database_url: str) -> None:
        self.clock = FixedClock(NOW)
        self.services: Components = build_components(
            Settings(database_url=database_url, webhook_allow_private=True), clock=self.clock
        )

    def dispatcher(
        self, *, timeout: float = 5.0, delays: tuple[int, ...] = (5, 30), **kw: Any
    ) -> Dispatcher:
        s = self.services
        options: dict[str, Any] = {"allow_private": True, **kw}
        return Dispatcher(
            s.database,
            self.clock,
            s.metrics,
            AlertDetector(self.clock),
            timeout=timeout,
            delays=delays,
            **options,
        )

    def setup(self, receiver: Receiver, allowances: dict[str, Any]) -> tuple[str, str]:
        org_id, org_uuid = f"w{uuid.uuid4().hex[:10]}", str(uuid.uuid4())
        document = {
            "organizations": [
                {
                    "id": org_id,
                    "uuid": org_uuid,
                    "name": "Acme Webhooks",
                    "settings": [{"effectiveFrom": "2026-11", "allowances": allowances}],
                    "alerts": {"thresholds": [100], "forecast": False},
                }
            ],
            "webhooks": [
                {"name": f"hook-{org_id}", "url": receiver.url, "organizations": [org_id]}
            ],
        }
        result = self.services.applier.apply(read_document(document))
        receiver.secret = result.webhooks[0]["secret"]
        return org_id, org_uuid

    def ingest(self, events: list[Any]) -> None:
        self.services.ingest.ingest_events(events, bound_org_pk=None, backfill=False)

    def listing(self, status: str | None = None) -> list[dict[str, Any]]:
        with self.services.database.read() as conn:
            return delivery_store.deliveries(conn, status)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    world = World(database_url)
    yield world
    world.services.database.dispose()


def run(dispatcher: Dispatcher) -> int:
    async def once() -> int:
        await dispatcher.start_client()
        try:
            return await dispatcher.run_once()
        finally:
            await dispatcher.stop()

    return asyncio.run(once())


def test_a_crossing_is_posted_signed_with_the_contract_body(world: World) -> None:
    with running_receiver() as receiver:
        org_id, org = world.setup(receiver, {"apiCalls": 10, "aiCredits": 1.5})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=12)])
        world.ingest([ai_credit(org, NOW - timedelta(hours=1), credits=1.5)])
        assert run(world.dispatcher()) == 2
    assert [r.valid for r in receiver.received] == [True, True]
    bodies = sorted(
        (orjson.loads(r.body) for r in receiver.received), key=lambda b: b["data"]["resource"]
    )
    credits, calls = bodies
    assert calls["type"] == "usage.threshold_crossed"
    assert receiver.received[0].headers["webhook-id"] in {calls["id"], credits["id"]}
    assert calls["data"] == {
        "organization": {"id": org_id, "uuid": org, "name": "Acme Webhooks"},
        "resource": "apiCalls",
        "month": "2026-11",
        "threshold": 100,
        "usage": 12,
        "limit": 10,
        "crossedAt": "2026-11-21T10:30:00Z",
        "projectedUsage": None,
        "projectedExhaustionAt": None,
    }
    assert calls["createdAt"] == "2026-11-21T10:30:00Z"
    assert (credits["data"]["usage"], credits["data"]["limit"]) == (1.5, 1.5)
    listing = world.listing()
    assert {d["status"] for d in listing} == {"delivered"}
    assert all(d["attempts"] == 1 and d["nextAttemptAt"] is None for d in listing)
    assert all(d["lastStatusCode"] == 200 for d in listing)


def test_failures_follow_the_retry_schedule_with_the_same_id_and_body(world: World) -> None:
    with running_receiver(answers=[500, 503, 500]) as receiver:
        _, org = world.setup(receiver, {"apiCalls": 10})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        dispatcher = world.dispatcher(delays=(5, 30))
        assert run(dispatcher) == 1
        [pending] = world.listing()
        assert (pending["status"], pending["attempts"], pending["lastStatusCode"]) == (
            "pending",
            1,
            500,
        )
        assert pending["nextAttemptAt"] == "2026-11-21T10:30:05Z"
        assert run(dispatcher) == 0  # not due yet
        world.clock.set(NOW + timedelta(seconds=5))
        assert run(dispatcher) == 1
        assert world.listing()[0]["nextAttemptAt"] == "2026-11-21T10:30:35Z"
        world.clock.set(NOW + timedelta(seconds=35))
        assert run(dispatcher) == 1
    [failed] = world.listing("failed")
    assert (failed["attempts"], failed["lastStatusCode"], failed["nextAttemptAt"]) == (3, 500, None)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1
    assert all(r.valid for r in receiver.received)
    with world.services.database.read() as conn:
        codes = conn.execute(select(at.webhook_attempts.c.status_code)).scalars().all()
    assert sorted(codes) == [500, 500, 503]


def test_410_fails_at_once_and_a_timeout_is_retried(world: World) -> None:
    with running_receiver(answers=[410]) as receiver:
        _, org = world.setup(receiver, {"apiCalls": 10})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        run(world.dispatcher())
    [gone] = world.listing()
    assert (gone["status"], gone["attempts"], gone["lastStatusCode"]) == ("failed", 1, 410)
    with running_receiver(delay=1.5) as slow:
        _, org = world.setup(slow, {"integrationTasks": 10})
        world.ingest([api_call(org, NOW, count=1)])  # a write of another resource: nothing
        world.ingest([task_run(org, NOW - timedelta(hours=1), tasks=10)])
        run(world.dispatcher(timeout=0.3))
    [retry] = world.listing("pending")
    assert retry["attempts"] == 1 and retry["lastStatusCode"] is None
    assert "timeout" in retry["lastError"]


def test_an_unreachable_or_private_receiver_is_an_attempt_with_its_error(world: World) -> None:
    with running_receiver() as receiver:
        _, org = world.setup(receiver, {"apiCalls": 10})
    world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])  # receiver gone
    run(world.dispatcher())
    [refused] = world.listing()
    assert refused["status"] == "pending" and refused["lastError"]
    world.clock.set(NOW + timedelta(seconds=5))
    run(world.dispatcher(allow_private=False))
    [private] = world.listing()
    assert private["attempts"] == 2 and "private" in private["lastError"]


def test_a_lease_lets_one_process_attempt_and_survives_a_crash(world: World) -> None:
    with running_receiver() as receiver:
        _, org = world.setup(receiver, {"apiCalls": 10})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        # A process claims the delivery, then dies before posting it.
        with world.services.database.write() as conn:
            assert len(delivery_store.claim(conn, int(NOW.timestamp() * 1000), 35_000, 10)) == 1
        assert run(world.dispatcher()) == 0  # leased: nobody else attempts it
        world.clock.set(NOW + timedelta(seconds=36))
        assert run(world.dispatcher()) == 1  # the lease expired: delivered after all
    assert len(receiver.received) == 1 and receiver.received[0].valid
    assert world.listing()[0]["status"] == "delivered"


def test_redeliver_queues_an_alerts_deliveries_again(world: World) -> None:
    with running_receiver() as receiver:
        _, org = world.setup(receiver, {"apiCalls": 10})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        run(world.dispatcher())
        [delivered] = world.listing()
        with world.services.database.write() as conn:
            assert delivery_store.redeliver(conn, delivered["alertId"], 0) == 1
            assert delivery_store.redeliver(conn, str(uuid.uuid4()), 0) is None
        run(world.dispatcher())
    assert [r.headers["webhook-id"] for r in receiver.received] == [delivered["alertId"]] * 2


def test_revoking_a_webhook_fails_what_it_had_pending(world: World) -> None:
    with running_receiver() as receiver:
        org_id, org = world.setup(receiver, {"apiCalls": 10})
        world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        world.services.applier.apply(read_document({"revoke": {"webhooks": [f"hook-{org_id}"]}}))
        assert run(world.dispatcher()) == 0
    assert receiver.received == []
    [failed] = world.listing()
    assert (failed["status"], failed["lastError"], failed["attempts"]) == (
        "failed",
        "webhook revoked",
        0,
    )


def test_a_round_posts_only_while_its_lease_lasts_and_releases_the_rest(world: World) -> None:
    # One lane, a 3 s lease and a 1 s timeout: posts may start for 1 s after the claim
    # (so the last one ends before the lease); the receiver takes 0.6 s per delivery.
    with running_receiver(holds=[0.6] * 5) as receiver:
        for _ in range(5):
            _, org = world.setup(receiver, {"apiCalls": 10})
            world.ingest([api_call(org, NOW - timedelta(hours=1), count=10)])
        dispatcher = world.dispatcher(timeout=1.0, lanes=1, lease=3.0)
        first = run(dispatcher)
        assert 1 <= first < 5
        released = world.listing("pending")
        assert len(released) == 5 - first
        assert all(d["attempts"] == 0 and d["lastError"] is None for d in released)
        # Released, not leased: the next rounds take them at once (the clock is fixed,
        # so a lease left behind would never expire here).
        attempted = first
        for _ in range(5):
            if attempted == 5:
                break
            attempted += run(dispatcher)
    assert attempted == 5
    assert {d["status"] for d in world.listing()} == {"delivered"}
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 5
