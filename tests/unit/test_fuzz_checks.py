"""The fuzz harness's own checks (tests/support/fuzz): what counts as a leak, how the
ingest rules are modelled, and how the recorder groups, isolates and skips failures.

A fuzz that cannot see a traceback, or that flags the service's own documented
messages, is worse than none: these pin both directions.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support.fuzz.checks import Problem, Recorder, Sent, leaks
from tests.support.fuzz.ingest_cases import expected_parse


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ('Traceback (most recent call last):\n  File "x", line 3', "traceback"),
        ('  File "/srv/app/tallyboard/app.py", line 12, in handle', "traceback"),
        ("ValueError: bad", "Python exception name"),
        ("orjson.JSONDecodeError", "Python exception name"),
        ("psycopg.errors.ProgramLimitExceeded", "SQL or database driver text"),
        ("KeyError", "Python exception name"),
        ("<class 'dict'>", "Python object repr"),
        ("<function f at 0x7f>", "Python object repr"),
        ("SELECT pk FROM organizations WHERE uuid = %(uuid)s", "SQL or database driver text"),
        ("[SQL: INSERT INTO events (id) VALUES (?)]", "SQL or database driver text"),
        ("UNIQUE constraint failed: events.id", "SQL or database driver text"),
        ("duplicate key value violates unique constraint", "SQL or database driver text"),
        ("A string literal cannot contain NUL (0x00) characters.", "SQL or database driver text"),
        ("index row size 4040 exceeds btree version 4 maximum 2704", "SQL or database driver text"),
        ("(sqlite3.OperationalError) database is locked", "SQL or database driver text"),
        ("failed in /usr/lib/python3.11/json/decoder.py", "filesystem path"),
        ("see site-packages/graphql", "filesystem path"),
        ("C:\\Users\\me\\tallyboard", "filesystem path"),
        ("in endpoint.py", "filesystem path"),
    ],
)
def test_a_leak_is_found_in_a_plain_or_json_body(text: str, category: str) -> None:
    assert category in {c for c, _ in leaks(text)}
    as_json = orjson.dumps({"errors": [{"message": text}]}).decode()
    assert category in {c for c, _ in leaks(as_json)}


@pytest.mark.parametrize(
    "message",
    [
        "Missing or invalid credential",
        "You do not have permission to perform this action on this organization",
        "Internal server error; quote the correlation_id when reporting it",
        "INTERNAL_SERVER_ERROR",
        "Syntax Error: Unexpected Name 'x'.",
        "Variable '$v0' got invalid value 5; ID cannot represent value: 5",
        "The document asks for 36 organization UUIDs across its fields; at most 25 are allowed",
        "time: must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:15:00Z",
        "time: 2000-01-01T00:00:00Z is older than the live window of 35 days; send older "
        "events to the backfill endpoint (POST /v1/admin/backfill, tallyboard backfill)",
        "Personal access tokens are deprecated: use a service account and POST /oauth/token",
        "organizations[0].nmae: unknown key (check the spelling against docs/admin-apply.md)",
        "The body is not valid JSON (unexpected character: line 1 column 1 (char 0))",
        "client_id and client_secret are required",
        "Select a period from the list",
    ],
)
def test_the_services_own_messages_are_not_leaks(message: str) -> None:
    assert leaks(orjson.dumps({"error": {"message": message}}).decode()) == []


def test_a_match_the_request_itself_contains_is_an_echo_not_a_leak() -> None:
    body = orjson.dumps({"message": "unknown organization '../../etc/passwd ValueError'"})
    request = Sent("/x", "k", b'{"id": "../../etc/passwd ValueError"}')
    assert leaks(body.decode(), request.echo) == []
    assert {c for c, _ in leaks(body.decode(), "")} == {"Python exception name"}


def test_an_echo_is_only_computed_when_something_matched() -> None:
    def echo() -> str:
        raise AssertionError("computed for a clean body")

    assert leaks('{"data": {"ok": true}}', echo) == []


def test_server_side_literals_are_leaks_unless_sent() -> None:
    body = '{"error": {"message": "cannot open /tmp/pytest-1/fuzz/3b2c.db"}}'
    assert ("server-side literal", "/tmp/pytest-1/fuzz/3b2c.db") in leaks(
        body, "", ["/tmp/pytest-1/fuzz/3b2c.db"]
    )


@pytest.mark.parametrize(
    ("body", "ndjson", "expected"),
    [
        (b"[]", False, (200, 0)),
        (b"[{}, 5, null]", False, (200, 3)),
        (b"", False, (400, 0)),
        (b"{}", False, (400, 0)),
        (b"[", False, (400, 0)),
        (b"", True, (200, 0)),
        (b'{"a": 1}\n\n  \nnope\r\n{}', True, (200, 3)),
        (b"nope\n{", True, (400, 0)),
        (b"[" + b"{}," * 10_000 + b"{}]", False, (413, 0)),
        (b"{}\n" * 10_000, True, (200, 10_000)),
        (b"[" + b" " * (5 * 1024 * 1024) + b"]", False, (413, 0)),
    ],
)
def test_the_ingest_model_follows_the_documented_rules(
    body: bytes, ndjson: bool, expected: tuple[int, int]
) -> None:
    assert expected_parse(body, ndjson) == expected


class _Clock:
    """perf_counter for the recorder: each request takes ``seconds``."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._ticks: Iterator[int] = itertools.count()
        self._now = 0.0

    def __call__(self) -> float:
        if next(self._ticks) % 2:
            self._now += self.seconds
        return self._now


def _recorder(handler: httpx.MockTransport, clock: _Clock) -> Recorder:
    client = httpx.Client(transport=handler, base_url="http://fuzz")
    return Recorder(client, clock=clock)


def _json(status: int, payload: object, cid: str = "c0ffee00") -> httpx.Response:
    return httpx.Response(status, json=payload, headers={"X-Correlation-ID": cid})


def test_the_recorder_groups_failures_and_names_the_part_that_fails_alone() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if b"boom" in request.content:
            return httpx.Response(500, text="Internal Server Error")
        return _json(200, {"ok": True})

    recorder = _recorder(httpx.MockTransport(handler), _Clock())
    parts = [("fine", b'["ok"]'), ("overflowing time", b'["boom"]')]
    for _ in range(3):
        sent = Sent("/v1/events", "batch", b'["ok", "boom"]', context={"parts": parts})
        recorder.exchange(sent, lambda s, a: [])
    recorder.exchange(Sent("/v1/events", "batch", b'["ok"]'), lambda s, a: [Problem("odd")])
    assert sorted(
        (kind, problem, f.count) for (_, kind, problem), f in recorder.failures.items()
    ) == [
        ("batch", "HTTP 500 caused by: overflowing time", 3),
        ("batch", "odd", 1),
    ]
    report = recorder.report("test")
    assert "not JSON, without X-Correlation-ID" in report and '["boom"]' in report


def test_a_kind_slow_twice_is_not_sent_again() -> None:
    sent_bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent_bodies.append(request.content)
        return _json(200, {"data": None})

    clock = _Clock()
    recorder = _recorder(httpx.MockTransport(handler), clock)
    clock.seconds = 2.5
    for i in range(4):
        recorder.exchange(Sent("/graphql", "fan-out", str(i).encode()), lambda s, a: [])
    clock.seconds = 0.01
    recorder.exchange(Sent("/graphql", "other", b"x"), lambda s, a: [])
    assert sent_bodies == [b"0", b"1", b"x"]
    failure = recorder.failures[("/graphql", "fan-out", "slower than 2 s")]
    assert failure.count == 2 and failure.answer is not None and failure.answer.seconds == 2.5


def test_an_answer_without_correlation_id_or_json_is_a_failure() -> None:
    recorder = _recorder(
        httpx.MockTransport(lambda request: httpx.Response(400, text="bad")), _Clock()
    )
    recorder.exchange(Sent("/graphql", "raw", b"{"), lambda s, a: [])
    assert {problem for (_, _, problem) in recorder.failures} == {
        "no X-Correlation-ID header",
        "body is not JSON",
    }


def test_a_connection_found_closed_is_retried_once_then_reported() -> None:
    calls: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ReadError("connection reset by peer", request=request)
        return _json(200, {"data": {}})

    recorder = _recorder(httpx.MockTransport(flaky), _Clock())
    assert recorder.exchange(Sent("/graphql", "k", b"{}"), lambda s, a: []) is not None
    assert len(calls) == 2 and not recorder.failures

    def dead(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError("connection reset by peer", request=request)

    recorder = _recorder(httpx.MockTransport(dead), _Clock())
    assert recorder.exchange(Sent("/graphql", "k", b"{}"), lambda s, a: []) is None
    assert list(recorder.failures) == [("/graphql", "k", "no answer")]
