"""Crash safety: SIGKILL a real ``tallyboard serve`` again and again during ingestion.

The client retries every batch that was not acknowledged (same event ids). Whatever
was committed before a kill comes back as duplicates; whatever was not is committed on
the retry. In the end the rollups hold exactly the sum of every event sent, once.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.client import IngestClient, IngestSummary
from tallyboard.domain.clock import SystemClock
from tallyboard.storage.database import Database
from tests.support.events import ai_credit, api_call, org_document, rollup_snapshot, task_run
from tests.support.restartable_server import RestartableServer

pytestmark = pytest.mark.slow

KILLS = 4
EVENTS = 6_000
BATCH = 200


def _events(org: str) -> list[dict[str, Any]]:
    now = datetime.now(UTC)
    rnd = random.Random(7)
    out: list[dict[str, Any]] = []
    for i in range(EVENTS):
        at = now - timedelta(minutes=rnd.randrange(0, 600))
        if i % 3 == 0:
            out.append(api_call(org, at, operation=f"Op{i % 7}", count=1 + i % 4))
        elif i % 3 == 1:
            out.append(task_run(org, at, flow=f"flow-{i % 5}", tasks=i % 11))
        else:
            out.append(ai_credit(org, at, agent=f"agt-{i % 4}", credits=(i % 9) / 4))
    return out


@pytest.mark.parametrize(
    "backend",
    [
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_sigkill_during_ingest_loses_and_double_counts_nothing(
    backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = str(request.getfixturevalue(f"{backend}_url"))
    document, (org,) = org_document()
    database = Database(database_url)
    key = Applier(database, SystemClock()).apply(parse_document(document)).secrets()
    database.dispose()
    events = _events(org)
    server = RestartableServer(database_url)
    server.start()
    acknowledged = 0
    outcome: list[IngestSummary | BaseException] = []

    def on_batch(size: int, _summary: IngestSummary) -> None:
        nonlocal acknowledged
        acknowledged += size

    def produce() -> None:
        client = IngestClient(
            server.url,
            key["ingestKeys"][0]["key"],
            batch_size=BATCH,
            timeout=10,
            max_attempts=1_000,
            backoff=0.05,
            max_backoff=0.3,
        )
        try:
            outcome.append(client.send(events, on_batch=on_batch))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            client.close()

    producer = threading.Thread(target=produce)
    producer.start()
    rnd = random.Random(11)
    try:
        for _ in range(KILLS):
            before = acknowledged
            deadline = time.monotonic() + 30
            while acknowledged == before and producer.is_alive():  # mid-ingest, not idle
                assert time.monotonic() < deadline, "no progress between kills"
                time.sleep(0.01)
            time.sleep(rnd.uniform(0.0, 0.15))
            server.kill()
            server.start()
        producer.join(180)
    finally:
        server.stop()
    assert not producer.is_alive()
    (summary,) = outcome
    assert isinstance(summary, IngestSummary), summary
    assert summary.retries > 0, "no batch was ever interrupted: the test proved nothing"
    assert summary.accepted + summary.duplicates == EVENTS
    assert summary.rejected == []

    snap = rollup_snapshot(database_url, org)
    assert snap.raw_events == EVENTS
    calls = sum(e["data"]["count"] for e in events if e["type"] == "api.call")
    tasks = sum(e["data"]["tasks"] for e in events if e["type"] == "integration.task")
    runs = sum(1 for e in events if e["type"] == "integration.task")
    micro = sum(round(e["data"]["credits"] * 1_000_000) for e in events if e["type"] == "ai.credit")
    assert snap.total_calls() == calls
    assert snap.total_tasks() == tasks
    assert snap.total_runs() == runs
    assert snap.total_micro_credits() == micro
    assert sum(snap.api_calls_monthly.values()) == sum(snap.api_calls.values())
