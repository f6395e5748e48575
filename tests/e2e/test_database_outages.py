"""A stalled, cut or full database against a real ``tallyboard serve`` (issue 11, items
10 and 11).

The shared PostgreSQL server is never stopped: a :class:`TcpProxy` between the server
and PostgreSQL is paused (a stalled server: not one byte forwarded) or cut (every
connection closed, new ones refused). A full SQLite disk is a file-size limit on the
server process (``RLIMIT_FSIZE``: writes past it fail as on a full disk), lifted with
``prlimit`` to recover.
"""

from __future__ import annotations

import resource
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.client import IngestClient
from tallyboard.domain.clock import SystemClock
from tallyboard.storage.database import Database
from tests.support.events import org_document, rollup_snapshot, task_run
from tests.support.server_process import ServerProcess
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

ORG_QUERY = "query Org($id: ID!) { organization(id: $id) { id name } }"


class Tenant:
    """One organization with a service account (GraphQL) and an ingest key."""

    def __init__(self, database_url: str) -> None:
        document, (self.uuid,) = org_document()
        self.id = document["organizations"][0]["id"]
        document["serviceAccounts"] = [
            {"organization": self.id, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
        ]
        database = Database(database_url)
        secrets = Applier(database, SystemClock()).apply(parse_document(document)).secrets()
        database.dispose()
        self.account = secrets["serviceAccounts"][0]
        self.key = secrets["ingestKeys"][0]["key"]
        self.token = ""

    def sign_in(self, base_url: str) -> None:
        response = httpx.post(
            f"{base_url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.account["clientId"],
                "client_secret": self.account["clientSecret"],
            },
        )
        assert response.status_code == 200, response.text
        self.token = response.json()["access_token"]

    def query(self, base_url: str, timeout: float = 60) -> httpx.Response:
        return httpx.post(
            f"{base_url}/graphql",
            json={"query": ORG_QUERY, "variables": {"id": self.id}},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=timeout,
        )

    def events(self, n: int, tasks: int = 3) -> list[dict[str, Any]]:
        now = datetime.now(UTC)
        return [
            task_run(self.uuid, now - timedelta(minutes=i % 50), flow=f"f{i % 5}", tasks=tasks)
            for i in range(n)
        ]


@contextmanager
def _behind_proxy(
    database_url: str, workdir: Path, **settings: Any
) -> Iterator[tuple[TcpProxy, ServerProcess]]:
    """A ``tallyboard serve`` whose every byte to PostgreSQL goes through a proxy."""
    with TcpProxy("127.0.0.1", urlsplit(database_url).port or 5432) as proxy:
        through = urlsplit(database_url)._replace(netloc=f"postgres@127.0.0.1:{proxy.port}")
        server = ServerProcess(through.geturl(), workdir, db_connect_timeout=2, **settings)
        server.start()
        try:
            yield proxy, server
        finally:
            server.stop()


def _timed(call: Any) -> tuple[Any, float]:
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _assert_clean_failure(response: httpx.Response, *, graphql: bool) -> None:
    """A JSON error in the endpoint's shape, with the correlation id; no internals."""
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["Retry-After"]) >= 1
    body = response.json()
    cid = response.headers["x-correlation-id"]
    if graphql:
        ext = body["errors"][0]["extensions"]
        assert ext["code"] == "SERVICE_UNAVAILABLE" and ext["correlation_id"] == cid
    else:
        error = body["error"]
        assert error["code"] == "SERVICE_UNAVAILABLE" and error["correlation_id"] == cid
    for leak in ("Traceback", "SELECT", "psycopg", "sqlite", "/", ".py"):
        assert leak not in orjson.dumps(body).decode().replace("\\/", ""), (leak, body)


def _failure_lines(server: ServerProcess) -> list[dict[str, Any]]:
    return [r for r in server.log_records() if r.get("logger") == "tallyboard.failures"]


def _assert_operations_answer(server: ServerProcess) -> None:
    """While every database call hangs: liveness and metrics at once, readiness within
    its 2 s bound and with a reason (a hung check is never joined by another)."""
    for _ in range(5):
        health, waited = _timed(lambda: httpx.get(f"{server.url}/healthz", timeout=5))
        assert health.json() == {"status": "ok"} and waited < 1.0
        metrics, waited = _timed(lambda: httpx.get(f"{server.url}/metrics", timeout=5))
        assert metrics.status_code == 200 and waited < 1.0
    reasons = set()
    for _ in range(2):
        ready, waited = _timed(lambda: httpx.get(f"{server.url}/readyz", timeout=10))
        assert ready.status_code == 503 and waited < 3.5
        reasons.add(ready.json()["reason"])
    known = {
        "the database did not answer within 2 s",
        "the database is unavailable (OperationalError)",
    }
    hung = {r for r in reasons if r.startswith("the database has not answered")}
    assert reasons <= known | hung, reasons


def _wait_for(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.05)


@pytest.mark.postgres
def test_a_stalled_postgresql_freezes_nothing_and_loses_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    tenant = Tenant(postgres_url)
    with _behind_proxy(postgres_url, tmp_path, flush_interval=0.2) as (proxy, server):
        tenant.sign_in(server.url)
        # The same cheap document again and again: what used to run on the loop.
        warm = [tenant.query(server.url).status_code for _ in range(10)]
        assert warm == [200] * 10
        first = tenant.events(300)
        with IngestClient(server.url, tenant.key) as client:
            assert client.send(first).accepted == 300

        proxy.pause()
        paused_at = time.monotonic()
        answers: list[httpx.Response] = []
        second = tenant.events(200, tasks=7)
        sent: list[int] = []

        def query() -> None:
            answers.append(tenant.query(server.url))

        def ingest() -> None:
            with IngestClient(server.url, tenant.key, max_attempts=60, backoff=0.2) as c:
                sent.append(c.send(second).accepted)

        workers = [threading.Thread(target=query) for _ in range(6)]
        workers.append(threading.Thread(target=ingest))
        for worker in workers:
            worker.start()
        _assert_operations_answer(server)
        assert time.monotonic() - paused_at >= 3  # a stall of several seconds
        proxy.resume()

        for worker in workers:
            worker.join(90)
        assert sent == [200]  # every event acknowledged, once the database was back
        for answer in answers:  # each one answered, or refused cleanly
            if answer.status_code == 200:
                assert answer.json()["data"]["organization"]["id"] == tenant.id
            else:
                _assert_clean_failure(answer, graphql=True)
        _wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200)
        snapshot = rollup_snapshot(postgres_url, tenant.uuid)
        assert snapshot.total_tasks() == 300 * 3 + 200 * 7
        assert snapshot.total_runs() == 500
        billed = 10 + sum(a.status_code == 200 for a in answers)
        _wait_for(lambda: rollup_snapshot(postgres_url, tenant.uuid).total_calls() == billed)


@pytest.mark.postgres
def test_an_unreachable_postgresql_gets_json_503s_and_one_log_line_per_kind(
    postgres_url: str, tmp_path: Path
) -> None:
    tenant = Tenant(postgres_url)
    with _behind_proxy(postgres_url, tmp_path, failure_log_interval=60) as (proxy, server):
        tenant.sign_in(server.url)
        proxy.cut()
        auth = {"Authorization": f"Bearer {tenant.key}"}
        for _ in range(20):
            response, waited = _timed(
                lambda: httpx.post(
                    f"{server.url}/v1/events", json=tenant.events(5), headers=auth, timeout=30
                )
            )
            _assert_clean_failure(response, graphql=False)
            assert waited < 3
        _assert_clean_failure(tenant.query(server.url), graphql=True)
        token = httpx.post(
            f"{server.url}/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        )
        assert token.status_code == 503
        assert token.json()["error"] == "temporarily_unavailable"
        ready = httpx.get(f"{server.url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["reason"].startswith("the database is unavailable")
        assert httpx.get(f"{server.url}/healthz").status_code == 200

        lines = _failure_lines(server)
        kinds = Counter(line["kind"] for line in lines)
        assert kinds and all(count == 1 for count in kinds.values()), kinds
        assert all("exc" in line for line in lines)  # the first of a kind: traceback
        assert sum(len(orjson.dumps(line)) for line in lines) < 32 * 1024 * len(kinds)
        metrics = httpx.get(f"{server.url}/metrics").text
        assert 'tallyboard_failures_total{kind="database:OperationalError"}' in metrics

        proxy.restore()
        with IngestClient(server.url, tenant.key, max_attempts=30, backoff=0.2) as client:
            assert client.send(tenant.events(50)).accepted == 50
        _wait_for(lambda: httpx.get(f"{server.url}/readyz").status_code == 200)


def _file_size_limit(limit: int) -> Any:
    def apply() -> None:  # the soft limit only: the hard one lets it be lifted later
        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))

    return apply


@pytest.mark.sqlite
def test_a_full_sqlite_disk_gets_json_503s_a_count_per_interval_and_recovers(
    sqlite_url: str, tmp_path: Path
) -> None:
    tenant = Tenant(sqlite_url)
    db_file = Path(sqlite_url.removeprefix("sqlite:///"))
    limit = db_file.stat().st_size + 256 * 1024  # the WAL cannot grow past ~256 KB
    server = ServerProcess(
        sqlite_url, tmp_path, preexec=_file_size_limit(limit), failure_log_interval=4
    )
    server.start()
    try:
        auth = {"Authorization": f"Bearer {tenant.key}"}
        batch = tenant.events(3000)  # ~1 MB of new rows: cannot fit

        def post() -> httpx.Response:
            return httpx.post(f"{server.url}/v1/events", json=batch, headers=auth, timeout=30)

        started = time.monotonic()
        for _ in range(10):
            failed = post()
            _assert_clean_failure(failed, graphql=False)
        assert time.monotonic() - started < 4  # all within one failure-log interval
        # A write past the limit fails as on a full disk: a short write (SQLITE_FULL)
        # or EFBIG (SQLITE_IOERR_WRITE), depending on where the page falls.
        lines = _failure_lines(server)
        assert len(lines) == 1, lines
        kind = lines[0]["kind"]
        assert kind in ("database:SQLITE_FULL", "database:SQLITE_IOERR_WRITE")
        assert "exc" in lines[0] and "POST /v1/events" in lines[0]["msg"]
        assert failed.headers["Retry-After"] == "30"
        assert failed.json()["error"]["message"].startswith(
            ("The database has no space left", "The database cannot read or write its storage")
        )

        _wait_for(lambda: time.monotonic() - started > 4.2)  # the interval is over
        _assert_clean_failure(post(), graphql=False)
        lines = _failure_lines(server)
        assert len(lines) == 2 and lines[1]["kind"] == kind, lines
        assert lines[1]["count"] == 10 and "exc" not in lines[1]  # 9 counted + this one
        assert sum(len(orjson.dumps(line)) for line in lines) < 16 * 1024

        _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.prlimit(server.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space again
        with IngestClient(server.url, tenant.key, max_attempts=5) as client:
            assert client.send(batch).accepted == 3000  # nothing half-written before
        assert rollup_snapshot(sqlite_url, tenant.uuid).total_runs() == 3000
    finally:
        server.stop()
