"""What the precompiled projection buys, measured in process (decision 0018).

``python -m bench.projection_micro [--engine sqlite|postgresql] [--rounds N] [--seconds S]``

The ceiling section's three queries, on the ceiling section's workload (quick sizes),
with the projection on and off (``compile_projection`` patched to decline every
document, so every request takes graphql-core's ``execute_sync``):

- **execute**: µs per call of :func:`tallyboard.api.graphql.execution.execute` (on)
  against graphql-core's ``execute_sync`` (off) on the same prepared document, inside
  one read scope -- the executor's own cost, nothing else;
- **request**: µs of CPU per whole request through the ASGI application in process
  (middleware, endpoint, authentication, scheduler, execution, JSON), without sockets
  or uvicorn, which add the same cost either way.

Rounds alternate on/off so machine noise hits both alike; figures are medians.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any
from unittest import mock

import orjson
from graphql import execute_sync
from starlette.applications import Starlette

from bench import workload as w
from bench.server import fresh_database
from tallyboard.api.context import RequestContext
from tallyboard.api.graphql import execution
from tallyboard.api.graphql.schema import build_schema
from tallyboard.app import build_document_cache, create_app
from tallyboard.components import Components
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings

NAMES = {
    "typename": w.TYPENAME,
    "api_usage_top10": w.API_USAGE_TOP10,
    "ai_combined_cached": w.AI_COMBINED,
}


@contextmanager
def projection_off() -> Iterator[None]:
    """Documents prepared inside this block get no projection (general executor)."""
    with mock.patch.object(execution, "compile_projection", return_value=None):
        yield


def _scope(body: bytes, token: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }


async def _request(app: Starlette, body: bytes, token: str) -> int:
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(body, token), receive, send)
    return status


def _timed(call: Callable[[], object], seconds: float) -> float:
    """CPU µs per call of ``call``, over about ``seconds`` of wall time."""
    calls, started, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - started < seconds:
        for _ in range(20):
            call()
        calls += 20
    return (time.process_time() - cpu) / calls * 1e6


def _requests(app: Starlette, body: bytes, token: str, seconds: float) -> float:
    async def run() -> float:
        assert await _request(app, body, token) == 200
        calls, started, cpu = 0, time.perf_counter(), time.process_time()
        while time.perf_counter() - started < seconds:
            for _ in range(20):
                await _request(app, body, token)
            calls += 20
        return (time.process_time() - cpu) / calls * 1e6

    return asyncio.run(run())


def _executions(
    services: Components, settings: Settings, token: str, variables: dict[str, Any]
) -> dict[str, tuple[Callable[[], Any], Callable[[], Any]]]:
    """Per query: (projection on, off) callables executing the prepared document."""
    schema = build_schema()
    documents = build_document_cache(settings, schema, Metrics())
    with services.database.read_scope():
        principal = services.authenticator.principal(f"Bearer {token}")
    calls: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {}
    for name, query in NAMES.items():
        executable = documents.prepare(query).executable
        assert executable is not None
        operation = next(iter(documents.prepare(query).operations.values())).name
        values = variables.get(name, {})

        def context(principal: Any = principal) -> RequestContext:
            return RequestContext(services.queries, principal, "bench")

        def on(e: Any = executable, o: Any = operation, v: Any = values, c: Any = context) -> Any:
            result, _ = execution.execute(e, o, v, c)
            assert not result.errors, result.errors
            return result

        def off(e: Any = executable, v: Any = values, c: Any = context) -> Any:
            result = execute_sync(
                schema, e.document, context_value=c(), variable_values=v, hide_suggestions=True
            )
            assert not result.errors, result.errors
            return result

        assert on().data == off().data
        calls[name] = (on, off)
    return calls


def run(engine: str, rounds: int, seconds: float) -> dict[str, dict[str, float]]:
    figures: dict[str, dict[str, list[float]]] = {
        name: {k: [] for k in ("execute_on", "execute_off", "request_on", "request_off")}
        for name in NAMES
    }
    with fresh_database(engine, "projection") as db:
        workload = w.prepare(db, quick=True)
        payloads = w.queries(workload)
        variables = {
            name: orjson.loads(body).get("variables", {}) for name, body in payloads.items()
        }
        settings = Settings(database_url=db.url, metering=False)
        app_on = create_app(settings)
        with projection_off():
            app_off = create_app(settings)
            for body in payloads.values():  # prepared (without projections) in here
                asyncio.run(_request(app_off, body, workload.token))
        services: Components = app_on.state.components
        executions = _executions(services, settings, workload.token, variables)
        for _ in range(rounds):
            for name, body in payloads.items():
                on, off = executions[name]
                with services.database.read_scope():
                    figures[name]["execute_on"].append(_timed(on, seconds))
                    figures[name]["execute_off"].append(_timed(off, seconds))
                figures[name]["request_on"].append(_requests(app_on, body, workload.token, seconds))
                figures[name]["request_off"].append(
                    _requests(app_off, body, workload.token, seconds)
                )
    return {
        name: {k: statistics.median(v) for k, v in per.items()} for name, per in figures.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    results = run(args.engine, args.rounds, args.seconds)
    print(f"engine: {args.engine}, {args.rounds} rounds, medians of CPU µs per call")
    print("| query | execute on | execute off | request on | request off | saved/request |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, f in results.items():
        saved = 1 - f["request_on"] / f["request_off"]
        print(
            f"| {name} | {f['execute_on']:.0f} | {f['execute_off']:.0f} | "
            f"{f['request_on']:.0f} | {f['request_off']:.0f} | {saved:.0%} |"
        )


if __name__ == "__main__":
    main()
