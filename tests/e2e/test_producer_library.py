"""The producer library against real Tallyboard servers (issue 16, §12).

- N requests through three metered producer processes show as exactly N in
  ``apiUsageStats``, by operation and by token, on SQLite and on PostgreSQL.
- A producer whose Tallyboard is restarted (SIGTERM) and hard-killed (SIGKILL) while it
  meters, and whose answers are sometimes lost after the server committed, still delivers
  every call exactly once.
- Calls recorded either side of a UTC midnight that is also a month boundary land in
  their own day and month (the meter's clock injected, the server's clock set to match).

Every comparison goes through the public GraphQL API, never the database.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.domain.clock import SystemClock
from tallyboard.storage.database import Database
from tallyboard_client import UsageMeter
from tests.support.harness import LiveServer
from tests.support.restartable_server import RestartableServer

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BACKENDS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite),
    pytest.param("postgres", marks=pytest.mark.postgres),
]
STATS = """
query Stats($org: ID!, $dimension: GroupedAPIDimension, $period: PeriodFilter!) {
  apiUsageStats(organizationUuid: $org, period: $period, dimension: $dimension) {
    data { dimension metric }
  }
}
"""


def tenancy(database_url: str, orgs: int) -> tuple[list[str], str, str]:
    """Organizations, an instance-wide ingest key, and a personal token of a user who
    administers them all: (organization uuids, ingest key, reader token)."""
    suffix = uuid.uuid4().hex[:8]
    organizations = [
        {"id": f"p{suffix}-{i}", "uuid": str(uuid.uuid4()), "name": f"Producer org {i}"}
        for i in range(orgs)
    ]
    document = {
        "organizations": organizations,
        "users": [
            {
                "email": f"reader-{suffix}@example.test",
                "name": "Reader",
                "memberships": [{"organization": o["id"], "role": "admin"} for o in organizations],
                "personalTokens": [
                    {"name": "stats", "billingOrganization": organizations[0]["id"]}
                ],
            }
        ],
        "ingestKeys": [{"name": f"producers-{suffix}"}],
    }
    database = Database(database_url)
    secrets = Applier(database, SystemClock()).apply(parse_document(document)).secrets()
    database.dispose()
    return (
        [str(o["uuid"]) for o in organizations],
        secrets["ingestKeys"][0]["key"],
        secrets["personalTokens"][0]["token"],
    )


def usage(
    url: str, token: str, org: str, dimension: str | None, period: str = "last_3_months"
) -> Counter[str]:
    """``apiUsageStats`` of one organization as {value: calls}."""
    response = httpx.post(
        f"{url}/graphql",
        json={
            "query": STATS,
            "variables": {"org": org, "dimension": dimension, "period": period},
        },
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return Counter({i["dimension"]: i["metric"] for i in body["data"]["apiUsageStats"]["data"]})


@pytest.mark.parametrize("backend", BACKENDS)
def test_three_producer_processes_are_counted_exactly_by_operation_and_token(
    backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = str(request.getfixturevalue(f"{backend}_url"))
    orgs, key, reader = tenancy(database_url, orgs=2)
    server = RestartableServer(database_url, {"TALLYBOARD_METERING": "false"})
    server.start()
    try:
        producers = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "tests.support.producer",
                    server.url,
                    key,
                    str(seed),
                    "400",
                    *orgs,
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for seed in (1, 2, 3)
        ]
        results = []
        for producer in producers:
            out, err = producer.communicate(timeout=240)
            assert producer.returncode == 0, err[-3000:]
            results.append(json.loads(out))
        expected: Counter[tuple[str, str, str]] = Counter()
        for result in results:
            assert result["closed"] and result["rejected"] == 0 and result["dropped"] == 0
            for k, calls in result["expected"].items():
                expected[tuple(json.loads(k))] += calls
        assert sum(r["requests"] for r in results) == 1200
        for org in orgs:
            for dimension in ("operation_name", "token"):
                want = Counter(
                    {v: n for (o, d, v), n in expected.items() if o == org and d == dimension}
                )
                assert usage(server.url, reader, org, dimension) == want, (org, dimension)
            total = sum(n for (o, d, _), n in expected.items() if o == org and d == "token")
            assert usage(server.url, reader, org, None) == Counter({"Counter": total})
    finally:
        server.stop()


class LosingAnswers(httpx.BaseTransport):
    """Delivers every request to the real server, but loses every ``nth`` answer after
    the server committed it -- as when a connection drops on the way back."""

    def __init__(self, nth: int) -> None:
        self._inner = httpx.HTTPTransport()
        self._nth = nth
        self._seen = 0
        self.lost = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        self._seen += 1
        if self._seen % self._nth == 0 and response.status_code == 200:
            response.read()
            response.close()
            self.lost += 1
            raise httpx.ReadError("the answer was lost")
        return response

    def close(self) -> None:
        self._inner.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_producer_survives_restarts_and_hard_kills_of_tallyboard_exactly_once(
    backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = str(request.getfixturevalue(f"{backend}_url"))
    (org,), key, reader = tenancy(database_url, orgs=1)
    server = RestartableServer(database_url, {"TALLYBOARD_METERING": "false"})
    server.start()
    transport = LosingAnswers(nth=4)
    meter = UsageMeter(
        server.url,
        key,
        "restarts",
        flush_interval=0.02,
        backoff=0.05,
        max_backoff=0.3,
        timeout=5,
        close_timeout=120,
        transport=transport,
    )
    recorded: Counter[str] = Counter()
    stop = threading.Event()

    def produce() -> None:
        n = 0
        give_up = time.monotonic() + 180  # bounded, whatever happens to the test
        while not stop.is_set() and time.monotonic() < give_up:
            operation = f"Op{n % 4}"
            meter.record(org, operation, "bot")
            recorded[operation] += 1
            n += 1
            if n % 20 == 0:
                time.sleep(0.001)  # a steady trickle of calls, not a flood

    producer = threading.Thread(target=produce)
    producer.start()
    rnd = random.Random(5)
    try:
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGKILL, signal.SIGKILL):
            before = meter.delivered
            deadline = time.monotonic() + 60
            while meter.delivered == before:  # kill while flushes are being delivered
                assert time.monotonic() < deadline, "the meter made no progress"
                time.sleep(0.005)
            time.sleep(rnd.uniform(0, 0.05))
            server.stop(sig)
            server.start()
        stop.set()
        producer.join(60)
        assert meter.close(), "the meter could not deliver everything"
        assert meter.retries > 0, "no flush was ever interrupted: the test proved nothing"
        assert meter.duplicates > 0 and transport.lost > 0
        assert meter.delivered == sum(recorded.values())
        assert usage(server.url, reader, org, "operation_name") == recorded
        assert usage(server.url, reader, org, None) == Counter({"Counter": sum(recorded.values())})
    finally:
        stop.set()
        meter.close()
        server.stop()


@pytest.mark.parametrize("backend", BACKENDS)
def test_calls_either_side_of_a_month_end_midnight_land_in_their_own_day_and_month(
    backend: str, request: pytest.FixtureRequest
) -> None:
    database_url = str(request.getfixturevalue(f"{backend}_url"))
    (org,), _, reader = tenancy(database_url, orgs=1)
    midnight = datetime(2026, 12, 1, tzinfo=UTC)
    server = LiveServer(database_url, now=datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC))
    with server.running():
        key = server.apply({"ingestKeys": [{"name": "midnight"}]})["ingestKeys"][0]["key"]
        now = [midnight.timestamp() - 0.2]  # the meter's clock: 23:59:59.8 on Nov 30
        with UsageMeter(
            server.base_url, key, "midnight", flush_interval=3600, clock=lambda: now[0]
        ) as meter:
            for _ in range(7):
                meter.record(org, "GetCards", "bot")
            now[0] = midnight.timestamp() + 0.1  # 00:00:00.1 on Dec 1
            for _ in range(5):
                meter.record(org, "GetCards", "bot")
        assert meter.delivered == 12
        assert usage(server.base_url, reader, org, None, "last_month") == Counter({"Counter": 7})
        assert usage(server.base_url, reader, org, None, "current_month") == Counter({"Counter": 5})
        daily = server.graphql(
            reader,
            "query($org: ID!) { apiUsageStatsDaily(organizationUuid: $org, period: last_month)"
            " { data { date metric } } }",
            {"org": org},
        )["data"]["apiUsageStatsDaily"]["data"]
        assert daily[0] == {"date": "2026-11-30", "metric": 7}
        assert sum(day["metric"] for day in daily) == 7
