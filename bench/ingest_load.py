"""Ingest load generator: events/s end-to-end over HTTP into SQLite or PostgreSQL.

Starts one real ``tallyboard serve`` process on a fresh database, creates
organizations and an ingest key with ``tallyboard admin apply``, pre-encodes every
batch (so the generator spends its CPU on sending, not on JSON), then posts the
batches over a few keep-alive connections and reports acknowledged events per second.
Every acknowledgement is a durable commit (SQLite WAL + synchronous=FULL, PostgreSQL
synchronous_commit=on), and the run checks that every event came back accepted.

    .venv/bin/python -m bench.ingest_load                       # SQLite in a temp dir
    .venv/bin/python -m bench.ingest_load --database-url postgresql://postgres@127.0.0.1/bench
    .venv/bin/python -m bench.ingest_load --profile out.svg    # py-spy the server, if installed
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

TALLYBOARD = [sys.executable, "-m", "tallyboard"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _events(orgs: list[str], count: int, now: datetime) -> list[dict[str, Any]]:
    """A mix of the three event types, spread over the last day, with unique ids."""
    run = uuid.uuid4().hex[:8]
    events: list[dict[str, Any]] = []
    for i in range(count):
        at = now - timedelta(seconds=(i * 7) % 86_400)
        event: dict[str, Any] = {
            "id": f"{run}-{i}",
            "source": f"gateway-{i % 3}",
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "organization": orgs[i % len(orgs)],
        }
        kind = i % 3
        if kind == 0:
            event["type"] = "api.call"
            event["data"] = {"operationName": f"Op{i % 40}", "tokenName": f"bot-{i % 5}"}
        elif kind == 1:
            event["type"] = "integration.task"
            event["data"] = {
                "flowId": f"flow-{i % 25}",
                "flowName": f"Flow {i % 25}",
                "project": {"id": f"prj-{i % 5}", "name": f"Project {i % 5}"},
                "tasks": 1 + i % 9,
            }
        else:
            event["type"] = "ai.credit"
            event["data"] = {
                "resource": "ai_automation",
                "agentId": f"agt-{i % 12}",
                "agentName": f"Agent {i % 12}",
                "credits": 0.5 + (i % 4),
            }
        events.append(event)
    return events


def _cli(args: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    result = subprocess.run(
        [*TALLYBOARD, *args], env=env, capture_output=True, text=True, check=True, input=stdin
    )
    return result.stdout


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _batch_seconds(port: int) -> float:
    """Total time the server spent inside the ingest service (its own histogram)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    for line in text.splitlines():
        if line.startswith("tallyboard_ingest_batch_seconds_sum"):
            return float(line.split()[-1])
    return 0.0


def _wait_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become ready")


def _sender(
    port: int, key: str, batches: queue.Queue[bytes | None], results: list[dict[str, Any]]
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/x-ndjson"}
    while True:
        body = batches.get()
        if body is None:
            return
        while True:
            conn.request("POST", "/v1/events", body=body, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            if response.status == 200:
                results.append(orjson.loads(payload))
                break
            if response.status != 429:
                raise RuntimeError(f"HTTP {response.status}: {payload[:300]!r}")
            time.sleep(float(response.getheader("Retry-After", "1")))


def _send_all(port: int, key: str, bodies: list[bytes], connections: int) -> list[dict[str, Any]]:
    batches: queue.Queue[bytes | None] = queue.Queue()
    for body in bodies:
        batches.put(body)
    for _ in range(connections):
        batches.put(None)
    results: list[dict[str, Any]] = []
    threads = [
        threading.Thread(target=_sender, args=(port, key, batches, results))
        for _ in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temp dir")
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--orgs", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2, help="server ingest_concurrency")
    parser.add_argument("--profile", help="write a py-spy flame graph of the server here")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="tb-ingest-bench-"))
    url = args.database_url or f"sqlite:///{workdir / 'bench.db'}"
    port = _free_port()
    env = {
        **os.environ,
        "TALLYBOARD_DATABASE_URL": url,
        "TALLYBOARD_PORT": str(port),
        "TALLYBOARD_LOG_LEVEL": "warning",
        "TALLYBOARD_INGEST_CONCURRENCY": str(args.concurrency),
        "TALLYBOARD_INGEST_QUEUE": str(max(16, args.connections)),
    }
    _cli(["migrate"], env)
    orgs = [str(uuid.uuid4()) for _ in range(args.orgs)]
    document = {
        "organizations": [
            {"id": f"bench-{i}-{o[:8]}", "uuid": o, "name": f"Bench {i}"}
            for i, o in enumerate(orgs)
        ],
        "ingestKeys": [{"name": f"bench-{uuid.uuid4().hex[:8]}"}],
    }
    doc_path = workdir / "tenancy.json"
    doc_path.write_text(json.dumps(document))
    key = json.loads(_cli(["admin", "apply", str(doc_path), "--json"], env))["ingestKeys"][0]["key"]

    now = datetime.now(UTC)
    warmup = _events(orgs, 5 * args.batch, now)
    events = _events(orgs, args.events, now)

    def bodies(items: list[dict[str, Any]]) -> list[bytes]:
        return [
            b"\n".join(orjson.dumps(e) for e in items[i : i + args.batch])
            for i in range(0, len(items), args.batch)
        ]

    warmup_bodies, run_bodies = bodies(warmup), bodies(events)
    server = subprocess.Popen([*TALLYBOARD, "serve"], env=env)
    profiler: subprocess.Popen[bytes] | None = None
    try:
        _wait_ready(port, time.monotonic() + 60)
        _send_all(port, key, warmup_bodies, args.connections)
        if args.profile and shutil.which("py-spy"):
            profiler = subprocess.Popen(
                [
                    "py-spy",
                    "record",
                    "-o",
                    args.profile,
                    "--pid",
                    str(server.pid),
                    "--rate",
                    "200",
                    "--format",
                    "raw" if args.profile.endswith(".txt") else "flamegraph",
                ]
            )
            time.sleep(1)
        cpu_before = _cpu_seconds(server.pid)
        started = time.perf_counter()
        results = _send_all(port, key, run_bodies, args.connections)
        elapsed = time.perf_counter() - started
        server_cpu = _cpu_seconds(server.pid) - cpu_before
        batch_seconds = _batch_seconds(port)
    finally:
        if profiler is not None:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(60)
        server.terminate()
        server.wait(60)
    accepted = sum(r["accepted"] for r in results)
    problems = sum(r["duplicates"] + len(r["rejected"]) for r in results)
    engine = url.split(":", 1)[0]
    print(
        f"{engine}: {accepted} events in {len(run_bodies)} batches of {args.batch} "
        f"over {args.connections} connections in {elapsed:.2f} s = "
        f"{accepted / elapsed:,.0f} events/s (duplicates+rejected: {problems}); "
        f"server CPU {server_cpu / elapsed:.0%} of one core, "
        f"{server_cpu / max(accepted, 1) * 1e6:.1f} CPU-us/event; "
        f"service time {batch_seconds * 1e6 / max(accepted, 1):.1f} us/event"
    )
    if accepted != args.events or problems:
        sys.exit("not every event was accepted exactly once")
    if not args.database_url:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
