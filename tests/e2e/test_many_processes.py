"""Several real ``tallyboard serve`` processes on one PostgreSQL database (issue 3).

Each process meters into its own memory and flushes additive deltas; the totals must
be exact however the requests were spread, and a graceful stop (SIGTERM) must flush
everything counted in memory -- compared against the client's own count of billable
(200) responses.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.fleet import ServerProcess, start_server, tenancy, wait_ready

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def servers(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[list[ServerProcess]]:
    flush_interval = getattr(request, "param", 0.2)
    started = [start_server(postgres_url, flush_interval) for _ in range(2)]
    try:
        for server in started:
            wait_ready(server)
        yield started
    finally:
        for server in started:
            if server.process.poll() is None:
                server.process.kill()
                server.process.wait(30)
            if server.reader is not None:
                server.reader.join(30)


def stored(database_url: str, org_pk: int) -> dict[ApiDimension, Counter[str]]:
    """Calls per dimension value over all months, from the monthly rollup; the daily
    rollup must hold the same totals."""
    database = Database(database_url)
    result: dict[ApiDimension, Counter[str]] = {d: Counter() for d in ApiDimension}
    with database.read() as conn:
        for table in (t.api_calls_monthly, t.api_calls_daily):
            rows = conn.execute(
                select(table.c.dimension, table.c.value, func.sum(table.c.calls))
                .where(table.c.org_pk == org_pk)
                .group_by(table.c.dimension, table.c.value)
            )
            counts: dict[ApiDimension, Counter[str]] = {d: Counter() for d in ApiDimension}
            for dimension, value, calls in rows:
                counts[ApiDimension(dimension)][value] = int(calls)
            if table is t.api_calls_monthly:
                result = counts
            else:
                assert counts == result
    database.dispose()
    return result


@dataclass
class Load:
    """Client threads sending billable requests; counts what the server answered 200."""

    tokens: dict[str, str]
    ok: Counter[tuple[str, str]] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def total(self) -> int:
        with self.lock:
            return sum(self.ok.values())

    def send(self, base_url: str, worker: int, requests: int | None) -> None:
        """``requests`` calls, or (None) until the server goes away after ``stopping``."""
        labels = sorted(self.tokens)
        with httpx.Client(base_url=base_url, timeout=30) as http:
            n = 0
            while requests is None or n < requests:
                label = labels[(worker + n) % len(labels)]
                operation = f"Op{(worker * 7 + n) % 5}"
                body: dict[str, Any] = {"query": f"query {operation} {{ __typename }}"}
                if n % 4 == 0:
                    body = {"query": "{ __typename }"}
                    operation = "Not specified"
                try:
                    response = http.post(
                        "/graphql",
                        json=body,
                        headers={"Authorization": f"Bearer {self.tokens[label]}"},
                    )
                except httpx.TransportError as exc:
                    if self.stopping.is_set():
                        return  # the server is shutting down: this request was not served
                    self.errors.append(repr(exc))
                    return
                if response.status_code == 200:
                    with self.lock:
                        self.ok[(operation, label)] += 1
                elif not self.stopping.is_set():
                    self.errors.append(f"{response.status_code}: {response.text}")
                    return
                n += 1


def expected_counts(load: Load) -> dict[ApiDimension, Counter[str]]:
    expected: dict[ApiDimension, Counter[str]] = {d: Counter() for d in ApiDimension}
    for (operation, label), calls in load.ok.items():
        expected[ApiDimension.TOTAL][""] += calls
        expected[ApiDimension.OPERATION_NAME][operation] += calls
        expected[ApiDimension.TOKEN][label] += calls
    return expected


def test_two_processes_count_concurrent_requests_exactly(
    servers: list[ServerProcess], postgres_url: str
) -> None:
    org_pk, tokens = tenancy(servers[0], postgres_url)
    load = Load(tokens)
    per_worker = [60, 45, 50, 35]  # four client threads per server
    threads = [
        threading.Thread(target=load.send, args=(server.url, worker, requests))
        for server in servers
        for worker, requests in enumerate(per_worker)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not load.errors, load.errors[:3]
    assert load.total() == 2 * sum(per_worker)
    for server in servers:
        server.terminate_and_wait()
    assert stored(postgres_url, org_pk) == expected_counts(load)
    for server in servers:
        assert "could not be confirmed" not in server.log()


@pytest.mark.parametrize("servers", [60.0], indirect=True)  # no periodic flush in the test
def test_sigterm_during_load_loses_nothing_counted_in_memory(
    servers: list[ServerProcess], postgres_url: str
) -> None:
    org_pk, tokens = tenancy(servers[0], postgres_url)
    load = Load(tokens)
    threads = [
        threading.Thread(target=load.send, args=(server.url, worker, None))
        for server in servers
        for worker in range(3)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while load.total() < 150:
        assert time.monotonic() < deadline, "the load never reached 150 requests"
        assert not load.errors, load.errors[:3]
        time.sleep(0.01)
    load.stopping.set()
    for server in servers:
        server.process.send_signal(signal.SIGTERM)  # while the clients keep sending
    for server in servers:
        server.wait_stopped()
    for thread in threads:
        thread.join(60)
    assert not load.errors, load.errors[:3]
    # With a 60 s interval, only the shutdown flushes wrote anything.
    assert stored(postgres_url, org_pk) == expected_counts(load)
    for server in servers:
        assert "tallyboard stopped" in server.log()
        assert "could not be confirmed" not in server.log()
