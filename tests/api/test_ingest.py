"""``POST /v1/events`` and ``POST /v1/admin/backfill`` over HTTP, on both engines.

Rollups and the catalog are checked directly in the tables (the statistics queries
over them are built elsewhere): after a 200 they already hold the events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import orjson
import pytest

from tests.support.events import (
    ai_credit,
    api_call,
    rollup_snapshot,
    task_run,
)
from tests.support.harness import DEFAULT_NOW, Harness, LiveServer
from tests.support.tenant import Tenant

NOW = DEFAULT_NOW


@pytest.fixture
def tenant(any_harness: Harness) -> Tenant:
    return Tenant(any_harness)


def codes(result: dict[str, Any]) -> list[tuple[int, str]]:
    return [(r["index"], r["code"]) for r in result["rejected"]]


def test_duplicates_within_and_across_batches_count_once(tenant: Tenant) -> None:
    call = api_call(tenant.org, NOW, count=3)
    run = task_run(tenant.org, NOW, tasks=4)
    credit = ai_credit(tenant.org, NOW, credits=0.1)
    first = tenant.send([call, run, credit, dict(call), dict(credit)])
    assert first == {"accepted": 3, "duplicates": 2, "rejected": []}
    # Read-your-writes: the 200 came after the commit.
    snap = rollup_snapshot(tenant.harness.database_url, tenant.org)
    assert (snap.total_calls(), snap.total_tasks(), snap.total_micro_credits()) == (3, 4, 100_000)
    again = tenant.send([credit, run, call], ndjson=True)
    assert again == {"accepted": 0, "duplicates": 3, "rejected": []}
    assert rollup_snapshot(tenant.harness.database_url, tenant.org) == snap
    assert snap.raw_events == 3


def test_a_reused_id_with_another_payload_is_a_conflict_and_the_first_stands(
    tenant: Tenant,
) -> None:
    original = task_run(tenant.org, NOW, tasks=4, event_id="run-1")
    changed = task_run(tenant.org, NOW, tasks=40, event_id="run-1")
    result = tenant.send([original, changed])
    assert result["accepted"] == 1 and codes(result) == [(1, "CONFLICT")]
    assert "index 0 of this request" in result["rejected"][0]["message"]
    later = tenant.send([changed, original])
    assert later["duplicates"] == 1 and codes(later) == [(0, "CONFLICT")]
    assert result["rejected"][0]["id"] == "run-1"
    # The same id from another source is another event.
    other_source = task_run(tenant.org, NOW, tasks=40, event_id="run-1", source="runner-2")
    assert tenant.send([other_source])["accepted"] == 1
    assert rollup_snapshot(tenant.harness.database_url, tenant.org).total_tasks() == 44


def test_every_rejection_code_with_its_index_id_and_message(any_harness: Harness) -> None:
    wide = Tenant(any_harness, orgs=2)
    bound = Tenant(any_harness, bound=True)
    unknown = "00000000-0000-4000-8000-000000000000"
    events = [
        api_call(wide.org, NOW, event_id="ok"),
        {**api_call(wide.org, NOW, event_id="bad"), "data": {"tokenName": "t", "count": 0}},
        api_call(unknown, NOW, event_id="nobody"),
        api_call(wide.org, NOW - timedelta(days=36), event_id="old"),
        api_call(wide.org, NOW + timedelta(minutes=6), event_id="future"),
        api_call(wide.org, NOW, event_id="ok", count=2),
    ]
    result = wide.send(events)
    assert result["accepted"] == 1
    assert codes(result) == [
        (1, "INVALID_EVENT"),
        (2, "UNKNOWN_ORGANIZATION"),
        (3, "OUT_OF_WINDOW"),
        (4, "OUT_OF_WINDOW"),
        (5, "CONFLICT"),
    ]
    messages = [r["message"] for r in result["rejected"]]
    assert messages[0] == "data.count: must be at least 1"
    assert unknown in messages[1]
    assert "live window of 35 days" in messages[2] and "backfill" in messages[2]
    assert "300 seconds in the future" in messages[3]
    assert [r["id"] for r in result["rejected"]] == ["bad", "nobody", "old", "future", "ok"]

    forbidden = bound.send([api_call(wide.org, NOW), api_call(unknown, NOW)])
    assert codes(forbidden) == [(0, "FORBIDDEN_ORGANIZATION"), (1, "FORBIDDEN_ORGANIZATION")]
    assert forbidden["rejected"][0]["message"] == forbidden["rejected"][1]["message"]


def test_an_org_bound_key_sends_for_its_own_organization_only(any_harness: Harness) -> None:
    bound = Tenant(any_harness, bound=True)
    other = Tenant(any_harness)
    result = bound.send([api_call(bound.org, NOW), api_call(other.org, NOW, count=5)])
    assert result["accepted"] == 1 and codes(result) == [(1, "FORBIDDEN_ORGANIZATION")]
    assert rollup_snapshot(any_harness.database_url, other.org).raw_events == 0
    assert rollup_snapshot(any_harness.database_url, bound.org).total_calls() == 1


def test_oversize_requests_are_refused_whole_and_store_nothing(tenant: Tenant) -> None:
    harness = tenant.harness
    too_many = [api_call(tenant.org, NOW) for _ in range(10_001)]
    response = tenant.post(too_many, ndjson=True)
    assert response.status_code == 413, response.text
    assert "10001 events; at most 10000" in response.json()["error"]["message"]
    padded = api_call(tenant.org, NOW, label="x" * 250, operation="y" * 250)
    too_big = [padded] * (5 * 1024 * 1024 // len(orjson.dumps(padded)) + 10)
    assert len(too_big) < 10_000
    response = tenant.post(too_big)
    assert response.status_code == 413
    assert rollup_snapshot(harness.database_url, tenant.org).raw_events == 0
    assert rollup_snapshot(harness.database_url, tenant.org).total_calls() == 0
    assert tenant.send(too_many[:10_000], ndjson=True)["accepted"] == 10_000


def test_bodies_that_are_not_events_and_missing_credentials(tenant: Tenant) -> None:
    http = tenant.harness.http
    auth = {"Authorization": f"Bearer {tenant.key}"}
    assert tenant.send([]) == {"accepted": 0, "duplicates": 0, "rejected": []}
    response = http.post("/v1/events", content=b"{nope", headers=auth)
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]["message"]
    assert http.post("/v1/events", content=b"[]").status_code == 401
    admin = {"Authorization": f"Bearer {tenant.harness.admin_token}"}
    assert http.post("/v1/events", content=b"[]", headers=admin).status_code == 401
    assert http.post("/v1/admin/backfill", content=b"[]", headers=auth).status_code == 401


def test_backfill_takes_older_events_inside_the_retention_horizon(tenant: Tenant) -> None:
    harness = tenant.harness
    old = task_run(tenant.org, NOW - timedelta(days=200), tasks=7)
    ancient = task_run(tenant.org, NOW - timedelta(days=401), tasks=9)
    assert codes(tenant.send([old])) == [(0, "OUT_OF_WINDOW")]
    admin = {"Authorization": f"Bearer {harness.admin_token}"}
    response = harness.http.post("/v1/admin/backfill", json=[old, ancient, old], headers=admin)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["accepted"] == 1 and result["duplicates"] == 1
    assert codes(result) == [(1, "OUT_OF_WINDOW")]
    assert "retention horizon of 400 days" in result["rejected"][0]["message"]
    snap = rollup_snapshot(harness.database_url, tenant.org)
    assert snap.flows_monthly == {
        ((NOW - timedelta(days=200)).strftime("%Y-%m"), "flow-1"): (
            7,
            1,
            int((NOW - timedelta(days=200)).timestamp()),
        )
    }


def test_non_billable_calls_are_stored_but_count_zero(tenant: Tenant) -> None:
    result = tenant.send(
        [api_call(tenant.org, NOW, status=s, count=2) for s in (200, 404, 401, 403, 429, 500)]
    )
    assert result["accepted"] == 6
    snap = rollup_snapshot(tenant.harness.database_url, tenant.org)
    assert snap.total_calls() == 4 and snap.raw_events == 6


def test_event_names_update_the_catalog_but_never_with_an_older_name(tenant: Tenant) -> None:
    harness = tenant.harness
    project = {"id": "prj-1", "name": "Sales", "icon": "cart", "color": "blue"}
    tenant.send(
        [
            task_run(tenant.org, NOW, flow_name="Sync CRM v2", project=project),
            task_run(tenant.org, NOW - timedelta(hours=1), flow_name="Sync CRM v1"),
            task_run(tenant.org, NOW, flow="flow-2", flow_name=None),
            ai_credit(tenant.org, NOW - timedelta(hours=2), agent="agt-9", agent_name="Old"),
        ]
    )
    tenant.send(
        [
            task_run(tenant.org, NOW - timedelta(hours=3), flow_name="Ancient"),
            ai_credit(tenant.org, NOW - timedelta(hours=1), agent="agt-9", agent_name="New"),
        ]
    )
    snap = rollup_snapshot(harness.database_url, tenant.org)
    assert snap.flow_catalog == {
        "flow-1": ("Sync CRM v2", "prj-1", "ENABLED"),
        "flow-2": ("flow-2", None, "ENABLED"),
    }
    assert snap.project_catalog == {"prj-1": ("Sales", "cart", "blue")}
    assert snap.agent_catalog == {"agt-9": ("New", False)}


def test_admin_names_and_deletions_meet_event_names(any_harness: Harness) -> None:
    tenant = Tenant(any_harness)
    org_id = rollup_org_id(any_harness, tenant)
    any_harness.apply(
        {
            "organizations": [
                {
                    "id": org_id,
                    "uuid": tenant.org,
                    "name": "Renamed",
                    "agents": [{"id": "agt-1", "name": "Admin name", "deleted": True}],
                    "flows": [{"id": "flow-1", "name": "Admin flow", "status": "DISABLED"}],
                }
            ]
        }
    )
    # Older than the apply (the harness clock is NOW): the admin's names stand.
    tenant.send(
        [
            ai_credit(tenant.org, NOW - timedelta(minutes=5), agent_name="Event name"),
            task_run(tenant.org, NOW - timedelta(minutes=5), flow_name="Event flow"),
        ]
    )
    snap = rollup_snapshot(any_harness.database_url, tenant.org)
    assert snap.agent_catalog == {"agt-1": ("Admin name", True)}
    assert snap.flow_catalog == {"flow-1": ("Admin flow", None, "DISABLED")}
    # Newer: the name changes, the agent stays deleted and the flow disabled.
    tenant.send(
        [
            ai_credit(tenant.org, NOW + timedelta(minutes=1), agent_name="Event name"),
            task_run(tenant.org, NOW + timedelta(minutes=1), flow_name="Event flow"),
        ]
    )
    snap = rollup_snapshot(any_harness.database_url, tenant.org)
    assert snap.agent_catalog == {"agt-1": ("Event name", True)}
    assert snap.flow_catalog == {"flow-1": ("Event flow", None, "DISABLED")}


def rollup_org_id(harness: Harness, tenant: Tenant) -> str:
    from sqlalchemy import select

    from tallyboard.storage import tables as t

    with harness.services.database.read() as conn:
        o = t.organizations
        return str(conn.execute(select(o.c.id).where(o.c.uuid == tenant.org)).scalar_one())


@pytest.fixture
def blocking_server(sqlite_url: str) -> Iterator[tuple[LiveServer, threading.Event]]:
    server = LiveServer(sqlite_url, ingest_concurrency=1, ingest_queue=1)
    release = threading.Event()
    service = server.services.ingest
    original = service.ingest

    def slow_ingest(*args: Any, **kwargs: Any) -> Any:
        release.wait(30)
        return original(*args, **kwargs)

    service.ingest = slow_ingest
    with server.running():
        yield server, release
    release.set()


@pytest.mark.sqlite
def test_overload_answers_429_with_retry_after_instead_of_queueing(
    blocking_server: tuple[LiveServer, threading.Event],
) -> None:
    server, release = blocking_server
    tenant = Tenant(server)
    gate = server.services.ingest_backpressure
    results: list[httpx.Response] = []

    def post(event: dict[str, Any]) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            results.append(
                client.post(
                    "/v1/events", json=[event], headers={"Authorization": f"Bearer {tenant.key}"}
                )
            )

    threads = [
        threading.Thread(target=post, args=(api_call(tenant.org, NOW, count=1 + i),))
        for i in range(2)
    ]
    for thread in threads:  # one writing (blocked), one waiting: capacity 1 + 1
        thread.start()
    deadline = time.monotonic() + 10
    while gate.inside < 2:
        assert time.monotonic() < deadline, "the two requests were never admitted"
        time.sleep(0.01)
    refused = tenant.post([api_call(tenant.org, NOW, count=100)])
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    release.set()
    for thread in threads:
        thread.join(30)
    assert sorted(r.status_code for r in results) == [200, 200]
    assert rollup_snapshot(server.database_url, tenant.org).total_calls() == 3
