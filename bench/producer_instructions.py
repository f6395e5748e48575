"""CPU instructions per request that metering adds, counted by callgrind (issue 16).

``python -m bench.producer_instructions [--requests N]`` calls the ``producer_overhead``
section's trivial Starlette route in-process (the scope uvicorn builds for the
benchmark's ``GET /cards/1``), under ``valgrind --tool=callgrind``, for three builds: the
unmetered app, the app behind an ASGI layer that only awaits it, and the metered app
(``MeteringMiddleware`` + ``UsageMeter``, its flusher idle). Each build runs twice, with
N and 3N requests, and the difference of the two totals divided by 2N is its count per
request: start-up cancels out. Instruction counts do not move with what else the
machine runs (one hash seed for every run), so they resolve the layer's cost on a shared
machine where CPU time per request moves by ±10 %. Decision 0015 reports the figures,
and the same counts taken under uvicorn. Not a benchmark section (it needs valgrind and
several minutes); it prints one JSON object.
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


class _PassThrough:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def _app(build: str) -> Any:
    from bench import producer_apps

    os.environ["BENCH_METERED"] = "1" if build == "metered" else "0"
    os.environ.setdefault("TALLYBOARD_URL", "http://127.0.0.1:9")  # never reached
    os.environ.setdefault("TALLYBOARD_INGEST_KEY", "unused")
    os.environ["BENCH_FLUSH_INTERVAL"] = "3600"  # idle: its cost is per second, not per call
    app = producer_apps.trivial()
    return _PassThrough(app) if build == "pass_through" else app


def _scope() -> dict[str, Any]:
    return {
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


def _serve(build: str, requests: int) -> None:
    """The child: ``requests`` requests through the build, then exit at once (the
    meter's exit delivery would only add instructions that do not scale with N)."""
    app = _app(build)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        pass

    async def run() -> None:
        for _ in range(requests):
            await app(_scope(), receive, send)

    asyncio.run(run())
    os._exit(0)


def _total(build: str, requests: int, out: Path) -> int:
    target = out / f"{build}.{requests}.callgrind"
    command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={target}"]
    command += [sys.executable, "-m", "bench.producer_instructions", "--child", build]
    command += ["--requests", str(requests)]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    subprocess.run(command, cwd=ROOT_DIR, env=env, capture_output=True, check=True)
    for line in target.read_text().splitlines():
        if line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError(f"no summary line in {target}")


def count(requests: int) -> dict[str, Any]:
    result: dict[str, Any] = {"requests": [requests, 3 * requests]}
    with tempfile.TemporaryDirectory(prefix="tb-callgrind-") as tmp:
        for build in BUILDS:
            low = _total(build, requests, Path(tmp))
            high = _total(build, 3 * requests, Path(tmp))
            result[build] = round((high - low) / (2 * requests))
    result["metering_added"] = result["metered"] - result["unmetered"]
    result["pass_through_added"] = result["pass_through"] - result["unmetered"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--child", choices=BUILDS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        _serve(args.child, args.requests)
    print(json.dumps(count(args.requests)))


if __name__ == "__main__":
    main()
