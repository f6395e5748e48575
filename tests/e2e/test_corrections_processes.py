"""Two real ``tallyboard serve`` processes on one PostgreSQL database, voiding and
ingesting at the same time (issue 15): every request answers 200 -- none fails, or is
even retried, for a deadlock -- each void and adjustment counts once, every rollup row
(zeros included) equals an organization that only ever received what survived, and
``tallyboard verify`` finds no difference."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
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
from tallyboard.storage.database import Database
from tests.support.corrections import adjust, void
from tests.support.events import ai_credit, api_call, iso, task_run
from tests.support.harness import mint_admin_token
from tests.support.rollup_rows import rows_at
from tests.support.server_process import ServerProcess, running_server
from tests.support.usage import automation_job

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BATCH = 12


def _tenancy(database_url: str) -> tuple[str, str, str]:
    """Two organizations (ours, and the reference that only gets what survives) and an
    ingest key for both."""
    suffix = uuid.uuid4().hex[:8]
    orgs = [{"id": f"c{suffix}{i}", "uuid": str(uuid.uuid4()), "name": f"C{i}"} for i in (0, 1)]
    database = Database(database_url)
    document = {"organizations": orgs, "ingestKeys": [{"name": f"k-{suffix}"}]}
    result = Applier(database, SystemClock()).apply(read_document(document))
    database.dispose()
    return orgs[0]["uuid"], orgs[1]["uuid"], result.ingest_keys[0]["key"]


def _events(org: str, count: int) -> list[dict[str, Any]]:
    """Every kind of usage over the last 30 days (two months), a few agents' runs with
    zero credits, on few rows so that voids and ingests meet."""
    rnd = random.Random(15)
    now = datetime.now(UTC) - timedelta(minutes=5)
    events = []
    for i in range(count):
        at = now - timedelta(hours=rnd.choice([0, 3, 30, 24 * 9, 24 * 29]))
        name = f"n{rnd.randrange(3)}"
        event_id = f"e{i}"
        kind = i % 4
        if kind == 0:
            events.append(api_call(org, at, operation=name, count=1 + i % 3, event_id=event_id))
        elif kind == 1:
            events.append(task_run(org, at, flow=name, tasks=i % 5, event_id=event_id))
        elif kind == 2:
            credits = rnd.choice([0, 0.5, 2])
            events.append(ai_credit(org, at, agent=name, credits=credits, event_id=event_id))
        else:
            events.append(automation_job(org, at, name, 1 + i % 4, event_id=event_id))
    return events


def _adjustments(org: str, count: int) -> list[dict[str, Any]]:
    at = iso(datetime.now(UTC) - timedelta(hours=3))
    kinds = [
        ("api.call", {"operationName": "n0", "tokenName": "gateway-bot", "count": 2}),
        ("integration.task", {"flowId": "n1", "tasks": 3}),
        ("ai.credit", {"resource": "ai_automation", "agentId": "n2", "credits": 1.25}),
        ("automation.job", {"automationId": "n0", "jobs": 2}),
    ]
    return [
        adjust(org, f"adj-{i}", kinds[i % 4][0], kinds[i % 4][1], time=at) for i in range(count)
    ]


class Client:
    def __init__(self, servers: tuple[ServerProcess, ServerProcess], admin: str, key: str):
        self.servers, self.admin, self.key = servers, admin, key
        self.failures: list[str] = []

    def post(self, which: int, path: str, body: list[Any], token: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.servers[which].url}{path}",
            content=orjson.dumps(body),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60,
        )
        if response.status_code != 200:
            self.failures.append(f"{path} on server {which}: {response.text}")
            return {}
        result: dict[str, Any] = response.json()
        return result

    def ingest(self, which: int, events: list[Any]) -> dict[str, Any]:
        return self.post(which, "/v1/events", events, self.key)

    def correct(self, which: int, entries: list[Any]) -> dict[str, Any]:
        return self.post(which, "/v1/admin/corrections", entries, self.admin)


def _batches(items: list[Any]) -> list[list[Any]]:
    return [items[i : i + BATCH] for i in range(0, len(items), BATCH)]


def test_two_processes_voiding_and_ingesting_at_once_stay_exact(
    postgres_url: str, tmp_path: Path
) -> None:
    org, reference, key = _tenancy(postgres_url)
    events = _events(org, 240)
    early, late = events[:120], events[120:]
    doomed = events[::3]
    adjustments = _adjustments(org, 16)
    options = {"log_level": "warning"}
    with (
        running_server(postgres_url, tmp_path, **options) as a,
        running_server(postgres_url, tmp_path, **options) as b,
    ):
        client = Client((a, b), mint_admin_token(postgres_url), key)
        for batch in _batches(early):
            assert client.ingest(0, batch).get("accepted") == len(batch)
        voids = [void(org, e) for e in doomed]
        counts: list[dict[str, Any]] = []

        def ingest() -> None:
            for n, batch in enumerate(_batches(late)):
                client.ingest(n % 2, batch)

        def correct(which: int, entries: list[Any]) -> None:
            for batch in _batches(entries):
                counts.append(client.correct(which, batch))

        # Both processes void the same events and apply the same adjustments, in
        # opposite orders, while the late half is being ingested through both.
        entries = voids + adjustments
        random.Random(7).shuffle(entries)
        threads = [
            threading.Thread(target=ingest),
            threading.Thread(target=correct, args=(0, entries)),
            threading.Thread(target=correct, args=(1, entries[::-1])),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        # Voids of late events not stored yet were NOT_FOUND: every event is stored now.
        final = client.correct(0, voids)
        _replay_survivors(client, reference, events, doomed, adjustments)
        logs = a.log_text() + b.log_text()
    assert not client.failures, client.failures
    assert "retried after a deadlock" not in logs
    applied = sum(c["applied"] for c in counts) + final["applied"]
    assert applied == len(doomed) + len(adjustments)  # each exactly once
    assert final["applied"] + final["unchanged"] == len(doomed)
    assert rows_at(postgres_url, org) == rows_at(postgres_url, reference)
    verify = subprocess.run(
        [sys.executable, "-m", "tallyboard", "verify", "--json"],
        env={**os.environ, "TALLYBOARD_DATABASE_URL": postgres_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert orjson.loads(verify.stdout) == {"differences": [], "unverifiable": []}


def _replay_survivors(
    client: Client,
    reference: str,
    events: list[dict[str, Any]],
    doomed: list[dict[str, Any]],
    adjustments: list[dict[str, Any]],
) -> None:
    """The model: the reference organization receives what survived, and nothing else."""
    gone = {e["id"] for e in doomed}
    survivors = [{**e, "organization": reference} for e in events if e["id"] not in gone]
    for batch in _batches(survivors):
        assert client.ingest(0, batch).get("accepted") == len(batch)
    replayed = [{**entry, "organization": reference} for entry in adjustments]
    assert client.correct(1, replayed).get("applied") == len(adjustments)
