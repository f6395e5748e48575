"""CPU instructions per request that metering adds, counted by callgrind (issue 16).

``python -m bench.producer_instructions [--app trivial|strawberry] [--requests N]
[--seeds K]`` calls one of the ``producer_overhead`` section's applications in-process
(the scope uvicorn builds for the benchmark's ``GET /cards/1``, or for its ``GetCards``
``POST`` to the Strawberry example), under ``valgrind --tool=callgrind``, for three
builds: the unmetered app, the app behind an ASGI layer that only awaits it, and the
metered app (``MeteringMiddleware`` + ``UsageMeter``, its flusher idle; for the example
its Strawberry extension too). Each build runs twice, with N and 3N requests, and the
difference of the two totals divided by 2N is its count per request: start-up cancels
out. Instruction counts do not move with what else the machine runs, so they resolve
the layer's cost on a shared machine where CPU time per request moves by ±10 %. They do
move with the hash seed, so each seed 0 to K-1 gives its own counts: on the Strawberry
example CPython's type attribute cache collides differently in each build and seed, by
up to ±250,000 instructions per request, more than metering's own work (decision 0015).
Not a benchmark section (it needs valgrind and several minutes); it prints one JSON
object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.producer_servers import ACME, ROOT_DIR

BUILDS = ("unmetered", "pass_through", "metered")
APPS = ("trivial", "strawberry")
GET_CARDS = b'{"query": "query GetCards { cards { id title done } }"}'


class _PassThrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _app(app_name: str, build: str) -> Any:
    from bench import producer_apps

    os.environ["BENCH_METERED"] = "1" if build == "metered" else "0"
    os.environ.setdefault("TALLYBOARD_URL", "http://127.0.0.1:9")  # never reached
    os.environ.setdefault("TALLYBOARD_INGEST_KEY", "unused")
    os.environ["BENCH_FLUSH_INTERVAL"] = "3600"  # idle: its cost is per second, not per call
    app = producer_apps.trivial() if app_name == "trivial" else producer_apps.strawberry()
    return _PassThrough(app) if build == "pass_through" else app


def _scope(app_name: str) -> dict[str, Any]:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "scheme": "http",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"connection", b"keep-alive"),
            (b"x-org", ACME.encode()),
        ],
        "state": {},
        "method": "GET",
        "path": "/cards/1",
        "raw_path": b"/cards/1",
        "query_string": b"",
    }
    if app_name == "strawberry":
        scope["method"], scope["path"], scope["raw_path"] = "POST", "/graphql", b"/graphql"
        scope["headers"] = [
            *scope["headers"][:2],
            (b"authorization", b"Bearer acme-mobile"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(GET_CARDS)).encode()),
        ]
    return scope


def _serve(app_name: str, build: str, requests: int) -> None:
    """The child: ``requests`` requests through the build, then exit at once (the
    meter's exit delivery would only add instructions that do not scale with N)."""
    app = _app(app_name, build)
    body = GET_CARDS if app_name == "strawberry" else b""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def run() -> None:
        for _ in range(requests):
            await app(_scope(app_name), receive, send)

    asyncio.run(run())
    os._exit(0)


def _total(app_name: str, build: str, requests: int, seed: int, out: Path) -> int:
    target = out / f"{app_name}.{build}.{requests}.{seed}.callgrind"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={target}"]
    command += [sys.executable, "-m", "bench.producer_instructions", "--child", build]
    command += ["--app", app_name, "--requests", str(requests)]
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    subprocess.run(command, cwd=ROOT_DIR, env=env, capture_output=True, check=True)
    for line in target.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary line in {target}")


def count(app_name: str, requests: int, seed: int = 0) -> dict[str, Any]:
    result: dict[str, Any] = {"app": app_name, "seed": seed, "requests": [requests, 3 * requests]}
    with tempfile.TemporaryDirectory(prefix="tb-callgrind-") as tmp:
        for build in BUILDS:
            low = _total(app_name, build, requests, seed, Path(tmp))
            high = _total(app_name, build, 3 * requests, seed, Path(tmp))
            result[build] = round((high - low) / (2 * requests))
    result["metering_added"] = result["metered"] - result["unmetered"]
    result["pass_through_added"] = result["pass_through"] - result["unmetered"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--app", choices=APPS, default="trivial")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--seeds", type=int, default=1, help="hash seeds 0 to K-1")
    parser.add_argument("--child", choices=BUILDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _serve(args.app, args.child, args.requests)
    results = [count(args.app, args.requests, seed) for seed in range(args.seeds)]
    print(json.dumps(results[0] if args.seeds == 1 else results))


if __name__ == "__main__":
    main()
