"""Slow, silent and greedy clients against a real ``tallyboard serve`` (issue 11, items 6
and 7): none of them can keep producers out or exhaust the process.

- Item 6: a body must arrive within ``TALLYBOARD_BODY_TIMEOUT``; a batch takes an
  ingest place only once its body is complete; bodies being read are bounded by the
  bytes actually received.
- Item 7: a request's headers must arrive within ``TALLYBOARD_HEADER_TIMEOUT``; idle
  keep-alive connections close after ``TALLYBOARD_KEEP_ALIVE_TIMEOUT``; beyond
  ``TALLYBOARD_LIMIT_CONCURRENCY`` a request gets a JSON 503 at once.
"""

from __future__ import annotations

import resource
import socket
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.domain.clock import SystemClock
from tallyboard.storage.database import Database
from tests.support.events import api_call, org_document
from tests.support.harness import mint_admin_token
from tests.support.raw_http import open_request, read_response, wait_closed
from tests.support.server_process import ServerProcess, running_server

pytestmark = [pytest.mark.slow, pytest.mark.sqlite]


def _ingest_key(database_url: str) -> tuple[str, str]:
    document, (org,) = org_document()
    database = Database(database_url)
    secrets = Applier(database, SystemClock()).apply(parse_document(document)).secrets()
    database.dispose()
    return secrets["ingestKeys"][0]["key"], org


def _batch(org: str, n: int = 1) -> list[dict[str, Any]]:
    return [api_call(org, datetime.now(UTC)) for _ in range(n)]


def _metric(base_url: str, name: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_slow_bodies_hold_no_ingest_place_and_get_408_at_their_deadline(
    sqlite_url: str, tmp_path: Path
) -> None:
    key, org = _ingest_key(sqlite_url)
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    with running_server(
        sqlite_url, tmp_path, body_timeout=3, ingest_concurrency=2, ingest_queue=16
    ) as server:
        started = time.monotonic()
        # More trickling senders than there are ingest places (2 writing + 16 waiting).
        slow = [
            open_request(
                server.port, "/v1/events", headers=auth, content_length=1_000_000, body=b"["
            )
            for _ in range(20)
        ]
        statuses = []
        with httpx.Client(base_url=server.url, timeout=10, headers=auth) as producer:
            while time.monotonic() - started < 2:  # while every slow sender is waiting
                statuses.append(producer.post("/v1/events", json=_batch(org)).status_code)
                time.sleep(0.1)
        assert len(statuses) >= 3 and set(statuses) == {200}, statuses
        for sock in slow:  # none was answered yet: they really were holding on
            sock.setblocking(False)
            with pytest.raises(BlockingIOError):
                sock.recv(1)
        answers = [read_response(sock, timeout=10) for sock in slow]
        waited = time.monotonic() - started
        for answer in answers:
            assert answer.status == 408
            error = answer.json()["error"]
            assert error["code"] == "BAD_REQUEST"
            assert "did not arrive within 3 seconds" in error["message"]
            assert error["correlation_id"] == answer.headers["x-correlation-id"]
            assert answer.closed  # the slot, the connection and the buffer are all freed
        assert 2.5 <= waited < 10
        assert (
            httpx.post(f"{server.url}/v1/events", json=_batch(org), headers=auth).status_code == 200
        )
        assert (
            _metric(server.url, 'tallyboard_http_requests_total{route="/v1/events",status="408"}')
            == 20
        )


def test_every_endpoint_with_a_body_has_the_deadline_in_its_own_error_shape(
    sqlite_url: str, tmp_path: Path
) -> None:
    key, _ = _ingest_key(sqlite_url)
    admin = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {mint_admin_token(sqlite_url)}",
    }
    cases = {
        "/graphql": {"Content-Type": "application/json"},
        "/oauth/token": {"Content-Type": "application/x-www-form-urlencoded"},
        "/v1/admin/apply": admin,
        "/v1/admin/backfill": admin,
        "/v1/events": {"Content-Type": "application/json", "Authorization": f"Bearer {key}"},
    }
    with running_server(sqlite_url, tmp_path, body_timeout=1) as server:
        socks = {
            path: open_request(server.port, path, headers=headers, content_length=500, body=b"{")
            for path, headers in cases.items()
        }
        answers = {path: read_response(sock, timeout=10) for path, sock in socks.items()}
    for path, answer in answers.items():
        assert answer.status == 408, (path, answer)
        assert answer.closed, path
        assert answer.headers["content-type"].startswith("application/json")
    graphql = answers["/graphql"].json()["errors"][0]
    assert graphql["extensions"]["code"] == "BAD_REQUEST"
    assert (
        graphql["extensions"]["correlation_id"] == answers["/graphql"].headers["x-correlation-id"]
    )
    oauth = answers["/oauth/token"].json()
    assert oauth["error"] == "invalid_request" and "did not arrive" in oauth["error_description"]
    for path in ("/v1/events", "/v1/admin/apply", "/v1/admin/backfill"):
        error = answers[path].json()["error"]
        assert (
            error["code"] == "BAD_REQUEST" and "did not arrive within 1 seconds" in error["message"]
        )
        assert error["correlation_id"] == answers[path].headers["x-correlation-id"]


def test_bodies_being_read_are_bounded_by_the_bytes_received(
    sqlite_url: str, tmp_path: Path
) -> None:
    key, org = _ingest_key(sqlite_url)
    auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    one = orjson.dumps(_batch(org))
    # Budget: (1 writing + 0 waiting) x 2,048 bytes.
    settings = {"ingest_concurrency": 1, "ingest_queue": 0, "ingest_max_body_bytes": 2048}
    with running_server(sqlite_url, tmp_path, body_timeout=2, **settings) as server:
        # A trickling sender costs what it sent, not what it declared...
        light = open_request(
            server.port, "/v1/events", headers=auth, content_length=2000, body=b"["
        )
        assert httpx.post(f"{server.url}/v1/events", content=one, headers=auth).status_code == 200
        # ...and one that sent most of its body holds those bytes until its deadline.
        heavy = open_request(
            server.port, "/v1/events", headers=auth, content_length=2000, body=b" " * 1900
        )
        deadline = time.monotonic() + 5
        refused = None
        while time.monotonic() < deadline:
            response = httpx.post(f"{server.url}/v1/events", content=one, headers=auth)
            if response.status_code == 429:
                refused = response
                break
        assert refused is not None, "1,900 buffered bytes never counted against the budget"
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["error"]["code"] == "OVERLOADED"
        assert read_response(heavy, timeout=10).status == 408
        assert read_response(light, timeout=10).status == 408
        assert httpx.post(f"{server.url}/v1/events", content=one, headers=auth).status_code == 200


def test_silent_and_trickling_connections_are_closed_after_the_header_timeout(
    sqlite_url: str, tmp_path: Path
) -> None:
    with running_server(
        sqlite_url, tmp_path, header_timeout=1, keep_alive_timeout=1, limit_concurrency=500
    ) as server:
        started = time.monotonic()
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(200)]
        trickling = socket.create_connection(("127.0.0.1", server.port))
        trickling.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        stop = threading.Event()

        def trickle() -> None:  # one header byte every 0.2 s: never a complete header
            while not stop.wait(0.2):
                try:
                    trickling.sendall(b"X")
                except OSError:
                    return

        thread = threading.Thread(target=trickle, daemon=True)
        thread.start()
        assert httpx.get(f"{server.url}/healthz", timeout=5).json() == {"status": "ok"}
        try:
            assert all(wait_closed(sock, timeout=10) for sock in silent)
        finally:
            for sock in silent:
                sock.close()
        closed_after = time.monotonic() - started
        timed_out = read_response(trickling, timeout=10)
        stop.set()
        thread.join(5)
        assert 0.9 <= closed_after < 10
        assert timed_out.status == 408 and timed_out.closed
        assert timed_out.json()["error"]["code"] == "BAD_REQUEST"
        assert "headers did not arrive within 1 seconds" in timed_out.json()["error"]["message"]
        assert _metric(server.url, "tallyboard_header_timeouts_total") >= 201

        # An idle keep-alive connection is closed after the keep-alive timeout.
        kept = open_request(server.port, "/healthz", method="GET")
        answer = read_response(kept, timeout=5)
        assert answer.status == 200 and answer.closed
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_beyond_the_connection_limit_a_request_gets_503_at_once(
    sqlite_url: str, tmp_path: Path
) -> None:
    with running_server(sqlite_url, tmp_path, header_timeout=3, limit_concurrency=20) as server:
        # Accepted in order: by the time the request below is read, these are counted.
        silent = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(25)]
        with httpx.Client(base_url=server.url, timeout=10) as client:
            started = time.monotonic()
            refused = client.post("/graphql", json={"query": "{ __typename }"})
            refused_after = time.monotonic() - started
            plain = client.get("/healthz")
        assert refused.status_code == 503 and plain.status_code == 503
        assert refused_after < 2  # answered at once, not after the silent sockets leave
        assert refused.headers["Retry-After"] == "1"
        entry = refused.json()["errors"][0]
        assert entry["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert entry["extensions"]["correlation_id"] == refused.headers["x-correlation-id"]
        assert plain.json()["error"]["code"] == "SERVICE_UNAVAILABLE"
        try:
            assert all(wait_closed(sock, timeout=10) for sock in silent)
        finally:
            for sock in silent:
                sock.close()
        assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert _metric(server.url, "tallyboard_connections_refused_total") >= 2


def test_serve_lifts_the_open_files_soft_limit_to_the_hard_one(
    sqlite_url: str, tmp_path: Path
) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard == resource.RLIM_INFINITY or hard > 256

    def low_soft_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    server = ServerProcess(sqlite_url, tmp_path, preexec=low_soft_limit)
    server.start()
    try:
        line = next(
            line
            for line in Path(f"/proc/{server.pid}/limits").read_text().splitlines()
            if line.startswith("Max open files")
        )
    finally:
        server.stop()
    soft, limit = line.split()[3:5]
    assert soft == limit != "256", line
