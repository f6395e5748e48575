"""Test doubles: a Tallyboard ingest endpoint that deduplicates by id like the real one
(in-process, for ``httpx.MockTransport``, or on a loopback port), and a settable clock."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

Step = Callable[[httpx.Request], httpx.Response | None]


class FakeTallyboard:
    """Answers ``POST /v1/events`` as Tallyboard does: each event accepted once, a
    repeated id a duplicate, events for ``unknown`` organizations rejected.

    ``script`` holds steps consulted first, one per request: a step returns a response
    (sent instead of the real answer), raises (a transport failure), or returns ``None``
    (the request is processed normally -- after whatever the step waited for).
    """

    def __init__(self, unknown: frozenset[str] = frozenset()) -> None:
        self.unknown = unknown
        self.script: list[Step] = []
        self.bodies: list[bytes] = []
        self.events: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/v1/events"
        assert request.headers["authorization"] == "Bearer tb_ing_test"
        with self.lock:
            self.bodies.append(request.content)
            step = self.script.pop(0) if self.script else None
        if step is not None:
            response = step(request)
            if response is not None:
                return response
        return httpx.Response(200, json=self.ingest(request.content))

    def ingest(self, body: bytes) -> dict[str, Any]:
        accepted = duplicates = 0
        rejected = []
        with self.lock:
            for index, line in enumerate(body.split(b"\n")):
                event = orjson.loads(line)
                if event["organization"] in self.unknown:
                    rejected.append(
                        {
                            "index": index,
                            "id": event["id"],
                            "code": "UNKNOWN_ORGANIZATION",
                            "message": "organization: no such organization",
                        }
                    )
                elif event["id"] in self.events:
                    assert self.events[event["id"]] == event, "same id, different payload"
                    duplicates += 1
                else:
                    self.events[event["id"]] = event
                    accepted += 1
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def calls(self, *fields: str) -> Counter[tuple[Any, ...]]:
        """Calls stored, summed by the given fields (``time``, ``organization`` or a
        ``data`` field such as ``operationName``)."""
        totals: Counter[tuple[Any, ...]] = Counter()
        with self.lock:
            for event in self.events.values():
                key = tuple(event[f] if f in event else event["data"][f] for f in fields)
                totals[key] += event["data"]["count"]
        return totals

    def total(self) -> int:
        return sum(self.calls().values())


class Clock:
    """Epoch seconds the test sets."""

    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now


@contextmanager
def http_tallyboard(fake: FakeTallyboard) -> Iterator[str]:
    """``fake`` served on a loopback port (for other processes); yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = httpx.Request(
                "POST", f"http://fake{self.path}", headers=dict(self.headers), content=body
            )
            response = fake(request)
            payload = response.content
            self.send_response(response.status_code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def as_json(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.split(b"\n")]
