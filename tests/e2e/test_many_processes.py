"""Several real ``tallyboard serve`` processes on one PostgreSQL database (issue 3).

Each process meters into its own memory and flushes additive deltas; the totals must
be exact however the requests were spread, and a graceful stop (SIGTERM) must flush
everything counted in memory -- compared against the client's own count of billable
(200) responses.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
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
from tests.support.harness import mint_admin_token

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

_LISTENING = re.compile(r"running on http://127\.0\.0\.1:(\d+)")
STARTUP_SECONDS = 60


@dataclass
class ServerProcess:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    port: int | None = None
    listening: threading.Event = field(default_factory=threading.Event)
    reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def read_log(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self.lines.append(line)
                match = _LISTENING.search(line)
                if match and self.port is None:
                    self.port = int(match.group(1))
                    self.listening.set()
        self.listening.set()  # the process ended: stop waiting either way

    def terminate_and_wait(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.wait_stopped()

    def wait_stopped(self) -> None:
        # uvicorn re-raises the signal once it has shut down gracefully.
        returncode = self.process.wait(60)
        if self.reader is not None:
            self.reader.join(30)  # every line the process wrote has been read
        assert returncode in (0, -signal.SIGTERM), self.log()

    def log(self) -> str:
        return "".join(self.lines[-50:])


def start_server(database_url: str, flush_interval: float) -> ServerProcess:
    env = {
        **os.environ,
        "TALLYBOARD_DATABASE_URL": database_url,
        "TALLYBOARD_FLUSH_INTERVAL": str(flush_interval),
        "TALLYBOARD_LOG_FORMAT": "text",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tallyboard", "serve", "--host", "127.0.0.1", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    server = ServerProcess(process)
    server.reader = threading.Thread(target=server.read_log, daemon=True)
    server.reader.start()
    return server


def wait_ready(server: ServerProcess) -> None:
    """Poll until the server listens and answers /readyz, within a deadline."""
    deadline = time.monotonic() + STARTUP_SECONDS
    assert server.listening.wait(STARTUP_SECONDS), "the server never listened"
    assert server.port is not None, server.log()
    while True:
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, server.log()
        assert server.process.poll() is None, server.log()
        time.sleep(0.05)


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


def tenancy(server: ServerProcess, database_url: str) -> tuple[int, dict[str, str]]:
    """One organization with two service accounts and a personal token: bearer tokens
    keyed by their label in the token dimension, and the organization's pk."""
    org_id = str(uuid.uuid4().int % 10**9)
    admin = mint_admin_token(database_url)
    with httpx.Client(base_url=server.url, timeout=30) as http:
        applied = http.post(
            "/v1/admin/apply",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "organizations": [{"id": org_id, "name": "Many"}],
                "users": [
                    {
                        "email": f"{org_id}@example.test",
                        "name": "John",
                        "memberships": [{"organization": org_id, "role": "admin"}],
                        "personalTokens": [{"name": "CLI", "billingOrganization": org_id}],
                    }
                ],
                "serviceAccounts": [
                    {"organization": org_id, "name": n, "role": "admin", "tokenLifetime": "1h"}
                    for n in ("bot-1", "bot-2")
                ],
            },
        )
        assert applied.status_code == 200, applied.text
        secrets = applied.json()
        tokens = {"John - CLI": secrets["personalTokens"][0]["token"]}
        for account in secrets["serviceAccounts"]:
            minted = http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": account["clientId"],
                    "client_secret": account["clientSecret"],
                },
            )
            tokens[account["name"]] = minted.json()["access_token"]
    database = Database(database_url)
    with database.read() as conn:
        pk = conn.execute(
            select(t.organizations.c.pk).where(t.organizations.c.id == org_id)
        ).scalar_one()
    database.dispose()
    return int(pk), tokens


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
