"""Alerts end to end in the application (spec §10): the lifespan's dispatcher posts a
crossing to a real receiver; deliveries listed over HTTP with the admin token; metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest

from tests.support.events import api_call
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.webhook_receiver import Receiver, running_receiver


@pytest.fixture
def alerting(database_url: str) -> Iterator[Harness]:
    with Harness(database_url, webhook_allow_private=True) as h:
        yield h


def _wait_for(receiver: Receiver, count: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while len(receiver.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_a_crossing_ingested_over_http_reaches_the_receiver(alerting: Harness) -> None:
    org_id, org_uuid = f"h{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    with running_receiver() as receiver:
        secrets = alerting.apply(
            {
                "organizations": [
                    {
                        "id": org_id,
                        "uuid": org_uuid,
                        "name": "Over HTTP",
                        "settings": [{"allowances": {"apiCalls": 10}}],
                        "alerts": {"thresholds": [50, 100], "forecast": False},
                    }
                ],
                "ingestKeys": [{"name": f"k-{org_id}"}],
                "webhooks": [{"name": f"hook-{org_id}", "url": receiver.url}],
            }
        )
        receiver.secret = secrets["webhooks"][0]["secret"]
        key = secrets["ingestKeys"][0]["key"]
        body = orjson.dumps([api_call(org_uuid, DEFAULT_NOW - timedelta(hours=1), count=10)])
        response = alerting.http.post(
            "/v1/events", content=body, headers={"Authorization": f"Bearer {key}"}
        )
        assert response.status_code == 200, response.text
        _wait_for(receiver, 2)
        time.sleep(0.2)  # the round records its attempts after the posts
    assert sorted(orjson.loads(r.body)["data"]["threshold"] for r in receiver.received) == [50, 100]
    assert all(r.valid for r in receiver.received)

    admin = {"Authorization": f"Bearer {alerting.admin_token}"}
    listing = alerting.http.get("/v1/admin/webhook-deliveries", headers=admin).json()
    assert [set(d) for d in listing["deliveries"]] == [
        {"alertId", "webhook", "status", "attempts", "lastStatusCode", "lastError", "nextAttemptAt"}
    ] * 2
    assert {(d["webhook"], d["status"], d["attempts"]) for d in listing["deliveries"]} == {
        (f"hook-{org_id}", "delivered", 1)
    }
    pending = alerting.http.get("/v1/admin/webhook-deliveries?status=pending", headers=admin)
    assert pending.json() == {"deliveries": []}
    metrics = alerting.http.get("/metrics").text
    assert 'tallyboard_webhook_deliveries_total{outcome="delivered"} 2.0' in metrics
    assert "tallyboard_webhook_deliveries_pending 0.0" in metrics


def test_the_deliveries_listing_needs_the_admin_token_and_a_known_status(
    alerting: Harness,
) -> None:
    assert alerting.http.get("/v1/admin/webhook-deliveries").status_code == 401
    admin = {"Authorization": f"Bearer {alerting.admin_token}"}
    bad = alerting.http.get("/v1/admin/webhook-deliveries?status=lost", headers=admin)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "INVALID_INPUT"
