"""In-process measurements behind the ``producer_overhead`` section.

- The cost of ``UsageMeter.record()`` (a dict increment under a lock) against the two
  alternatives it was chosen over: a lock-free design (append the call to a
  ``collections.deque``, aggregate in the flusher) and a dict without a lock (unsafe:
  ``d[k] = d.get(k, 0) + n`` loses increments between threads). Each records the same
  keys with the same clock; one thread, then four at once.
- Memory per distinct key held by a meter (tracemalloc), and per pending call in the
  lock-free design, which holds one entry per call until the flusher drains it.
- What metering adds to the benchmark's own applications, called directly (no server, no
  sockets): a ``GET`` on the trivial Starlette route, and a GraphQL ``POST`` to the
  Strawberry example (the middleware reads, replays and names the body; the extension
  reports the operation). (The library's cost alone: bench/producer_recording.py.)
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import threading
import time
import tracemalloc
from collections import deque
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from tallyboard_client import UsageMeter
from tallyboard_client._events import DAY_SECONDS
from tallyboard_client.asgi import MeteringMiddleware

ORG = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
Record = Callable[..., None]


class LockFreeRecorder:
    """The alternative design: one deque entry per call, no lock (deque.append is atomic)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._calls: deque[tuple[Any, ...]] = deque()
        self._clock = clock

    def record(
        self,
        organization: str,
        operation: str | None,
        token: str,
        status: int = 200,
        count: int = 1,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        self._calls.append(
            (organization, int(self._clock() // DAY_SECONDS), operation, token, status, count)
        )


class UnlockedRecorder:
    """A dict without a lock: the floor, and wrong under threads."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._counts: dict[tuple[Any, ...], int] = {}
        self._clock = clock

    def record(
        self,
        organization: str,
        operation: str | None,
        token: str,
        status: int = 200,
        count: int = 1,
    ) -> None:
        if count < 1:
            raise ValueError("count must be at least 1")
        key = (organization, int(self._clock() // DAY_SECONDS), operation, token, status)
        self._counts[key] = self._counts.get(key, 0) + count


def _idle_meter() -> UsageMeter:
    ack = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"accepted": 0, "duplicates": 0, "rejected": []})
    )
    return UsageMeter("http://tallyboard.invalid", "k", "bench", flush_interval=3600, transport=ack)


def _calls(n: int) -> list[tuple[str, str, str]]:
    operations = [f"Op{i}" for i in range(16)]
    tokens = ["Mobile App", "CLI", "Partner Sync", "Back Office"]
    return [(ORG, operations[i % 16], tokens[i % 4]) for i in range(n)]


def _ns_per_call(record: Record, calls: list[tuple[str, str, str]], repeats: int) -> float:
    """CPU time of this thread per call (time spent descheduled on a shared machine is
    not counted), median of ``repeats`` runs."""
    samples = []
    for _ in range(repeats):
        started = time.thread_time_ns()
        for organization, operation, token in calls:
            record(organization, operation, token)
        samples.append((time.thread_time_ns() - started) / len(calls))
    return statistics.median(samples)


def _threaded_ns_per_call(record: Record, calls: list[tuple[str, str, str]], threads: int) -> float:
    barrier = threading.Barrier(threads + 1)

    def work() -> None:
        barrier.wait()
        for organization, operation, token in calls:
            record(organization, operation, token)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    started = time.perf_counter_ns()
    barrier.wait()
    for thread in pool:
        thread.join()
    return (time.perf_counter_ns() - started) / (threads * len(calls))


def record_costs(quick: bool) -> dict[str, Any]:
    calls = _calls(20_000 if quick else 400_000)
    repeats = 2 if quick else 7
    noop: Record = lambda *args: None  # noqa: E731 - the loop and call overhead alone
    meter = _idle_meter()
    variants: dict[str, Record] = {
        "lock": meter.record,
        "lock_free": LockFreeRecorder().record,
        "no_lock": UnlockedRecorder().record,
    }
    loop = _ns_per_call(noop, calls, repeats)
    result: dict[str, Any] = {"calls": len(calls), "loop_ns": round(loop, 1)}
    for name, record in variants.items():
        one = _ns_per_call(record, calls, repeats)
        four = _threaded_ns_per_call(record, calls[: len(calls) // 4], 4)
        result[name] = {"ns": round(one - loop, 1), "ns_4_threads": round(four - loop, 1)}
    meter.close()
    return result


def memory(quick: bool) -> dict[str, Any]:
    keys = 10_000 if quick else 100_000
    operations = [f"Operation{i:06d}" for i in range(keys)]  # the names exist already
    meter = _idle_meter()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for operation in operations:
        meter.record(ORG, operation, "Mobile App", 200)
    after = tracemalloc.take_snapshot()
    meter_bytes = sum(s.size_diff for s in after.compare_to(before, "filename"))
    recorder = LockFreeRecorder()
    before = tracemalloc.take_snapshot()
    for i in range(keys):
        recorder.record(ORG, operations[i % 16], "Mobile App", 200)
    after = tracemalloc.take_snapshot()
    lock_free_bytes = sum(s.size_diff for s in after.compare_to(before, "filename"))
    tracemalloc.stop()
    assert meter.pending == keys
    meter.close()
    return {
        "keys": keys,
        "bytes_per_key": round(meter_bytes / keys, 1),
        "lock_free_bytes_per_call": round(lock_free_bytes / keys, 1),
    }


def middleware_costs(quick: bool) -> dict[str, Any]:
    """µs per request added by the middleware around a Starlette app, called directly."""
    from bench.producer_apps import example_api, trivial

    n = 2_000 if quick else 20_000  # route requests; a GraphQL one costs ~50x more
    meter = _idle_meter()
    api = example_api()
    graphql_body = orjson.dumps({"query": "query GetCards { cards { id title done } }"})
    cases: dict[str, tuple[Any, Any, dict[str, Any]]] = {
        "route": (
            trivial(),
            MeteringMiddleware(
                trivial(), meter=meter, organization=lambda s: ORG, token_name=lambda s: "bench"
            ),
            _scope("GET", "/cards/1", []),
        ),
        "graphql": (  # metered as the benchmark's server is: middleware and extension
            api.create_app(None),
            api.create_app(meter),
            _scope(
                "POST",
                "/graphql",
                [(b"content-type", b"application/json"), (b"authorization", b"Bearer acme-mobile")],
            ),
        ),
    }
    result: dict[str, Any] = {}
    for name, (bare, metered, scope) in cases.items():
        body = graphql_body if name == "graphql" else b""
        requests = n if name == "route" else max(200, n // 20)
        timings = asyncio.run(_time_apps(bare, metered, scope, body, requests, 2 if quick else 9))
        timings["requests"] = requests
        result[name] = timings
    meter.close()
    return result


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }


async def _time_apps(
    bare: Any, metered: Any, scope: dict[str, Any], body: bytes, n: int, repeats: int
) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    async def per_request(app: Any) -> float:
        started = time.thread_time_ns()
        for _ in range(n):
            await app(dict(scope), receive, send)
        return (time.thread_time_ns() - started) / n / 1000

    pairs = []
    for i in range(repeats):  # interleaved, each goes first in turn: drift hits both
        first, second = (bare, metered) if i % 2 == 0 else (metered, bare)
        a, b = await per_request(first), await per_request(second)
        pairs.append((a, b) if i % 2 == 0 else (b, a))
    return _pairs_summary(pairs)


def _pairs_summary(pairs: list[tuple[float, float]]) -> dict[str, Any]:
    """Medians of (unmetered, metered) µs per request and of the per-pair differences."""
    return {
        "bare_us": round(statistics.median(p[0] for p in pairs), 3),
        "metered_us": round(statistics.median(p[1] for p in pairs), 3),
        "added_us": round(statistics.median(p[1] - p[0] for p in pairs), 3),
        "added_us_per_pair": [round(p[1] - p[0], 3) for p in pairs],
    }
