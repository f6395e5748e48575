"""Alerts across real ``tallyboard serve`` processes on PostgreSQL (spec §10): one alert
per threshold when two processes take the same crossing usage at once, and a delivery
that survives a hard kill between the alert's commit and its recorded attempt."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.draft import read_document
from tallyboard.domain.clock import SystemClock
from tallyboard.storage import delivery_store
from tallyboard.storage.database import Database
from tests.support.events import api_call
from tests.support.server_process import ServerProcess, running_server
from tests.support.webhook_receiver import Receiver, running_receiver

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


def _tenancy(database_url: str, receiver: Receiver, allowance: int) -> tuple[str, str]:
    """An organization with an allowance, a webhook to ``receiver``, an ingest key."""
    org_id, org_uuid = f"p{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    database = Database(database_url)
    result = Applier(database, SystemClock(), allow_private_webhooks=True).apply(
        read_document(
            {
                "organizations": [
                    {
                        "id": org_id,
                        "uuid": org_uuid,
                        "name": "Processes",
                        "settings": [{"allowances": {"apiCalls": allowance}}],
                        "alerts": {"thresholds": [80, 100], "forecast": False},
                    }
                ],
                "ingestKeys": [{"name": f"k-{org_id}"}],
                "webhooks": [
                    {"name": f"hook-{org_id}", "url": receiver.url, "organizations": [org_id]}
                ],
            }
        )
    )
    database.dispose()
    receiver.secret = result.webhooks[0]["secret"]
    return org_uuid, result.ingest_keys[0]["key"]


def _post(server: ServerProcess, key: str, events: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{server.url}/v1/events",
        content=orjson.dumps(events),
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def _send_at_once(
    server: ServerProcess, key: str, events: list[dict[str, Any]], barrier: threading.Barrier
) -> None:
    barrier.wait()
    _post(server, key, events)


def _wait(condition: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_two_processes_taking_the_same_crossing_send_each_threshold_once(
    postgres_url: str, tmp_path: Path
) -> None:
    with running_receiver() as receiver:
        org, key = _tenancy(postgres_url, receiver, allowance=100)
        options = {"webhook_allow_private": "true", "log_level": "warning"}
        with (
            running_server(postgres_url, tmp_path, **options) as a,
            running_server(postgres_url, tmp_path, **options) as b,
        ):
            recent = datetime.now(UTC) - timedelta(minutes=1)
            for round_ in range(3):  # 40, 80, 120 calls: 80 and 100 are crossed
                events = [api_call(org, recent, count=40, event_id=f"e-{org}-{round_}")]
                barrier = threading.Barrier(2)

                threads = [
                    threading.Thread(target=_send_at_once, args=(s, key, events, barrier))
                    for s in (a, b)
                ]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(60)
            assert _wait(lambda: len(receiver.received) >= 2, 20)
            time.sleep(3)  # both dispatchers keep polling: nothing more may arrive
    thresholds = sorted(orjson.loads(r.body)["data"]["threshold"] for r in receiver.received)
    assert thresholds == [80, 100]
    assert all(r.valid for r in receiver.received)


def test_a_hard_kill_between_commit_and_recorded_attempt_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    with running_receiver(holds=[5.0]) as receiver:
        org, key = _tenancy(postgres_url, receiver, allowance=10)
        options: dict[str, Any] = {
            "webhook_allow_private": "true",
            "webhook_timeout": "1",
            "log_level": "warning",
        }
        first = ServerProcess(postgres_url, tmp_path, **options)
        first.start()
        try:
            _post(first, key, [api_call(org, datetime.now(UTC) - timedelta(minutes=1), count=8)])
            assert receiver.arrived.wait(20)  # posted, not yet answered...
        finally:
            assert first.process is not None
            first.process.kill()  # ...and the process dies before recording the attempt
            first.process.wait(10)
        database = Database(postgres_url)
        with database.read() as conn:
            [pending] = delivery_store.deliveries(conn)
        assert (pending["status"], pending["attempts"]) == ("pending", 0)
        with running_server(postgres_url, tmp_path, **options):
            # The lease (2 × timeout + 10 s) expires, then the other process delivers it.
            assert _wait(lambda: len(receiver.received) >= 2, 40)
            assert _wait(lambda: _status(database) == "delivered", 10)
        database.dispose()
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {pending["alertId"]}  # at least once, the same id every time


def _status(database: Database) -> str:
    with database.read() as conn:
        return str(delivery_store.deliveries(conn)[0]["status"])
