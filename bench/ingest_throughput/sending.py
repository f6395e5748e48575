"""The load: events, pre-encoded batches, the ``bench.ingest_sender`` process that
posts them, and one timed run checked for exactness."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from bench.ingest_sender import write_bodies
from bench.ingest_throughput.plan import CONNECTIONS
from bench.server import Database, Server, cpu_seconds


def make_events(orgs: list[str], count: int, now: datetime) -> list[dict[str, Any]]:
    """A mix of the three event types over the last day, with ids unique to this call."""
    run = uuid.uuid4().hex[:10]
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


def encode(events: list[dict[str, Any]], batch: int) -> list[bytes]:
    """NDJSON request bodies of ``batch`` events each."""
    lines = [orjson.dumps(event) for event in events]
    return [b"\n".join(lines[i : i + batch]) for i in range(0, len(lines), batch)]


def interleave(new: list[dict[str, Any]], replays: list[dict[str, Any]]) -> list[Any]:
    """Alternate new events and replays, so every batch holds both."""
    mixed: list[dict[str, Any]] = []
    for pair in zip(new, replays, strict=True):
        mixed.extend(pair)
    return mixed


class Sender:
    """A ``bench.ingest_sender`` process, loaded with bodies and waiting for the go."""

    def __init__(self, server: Server, key: str, bodies: list[bytes], workdir: Path) -> None:
        path = workdir / f"bodies-{uuid.uuid4().hex[:8]}.bin"
        write_bodies(path, bodies)
        self.path = path
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.ingest_sender",
                "--port",
                str(server.port),
                "--key",
                key,
                "--bodies",
                str(path),
                "--connections",
                str(CONNECTIONS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": _pythonpath()},
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if line.strip() != "ready":
            self.process.kill()
            raise RuntimeError(f"the sender did not start: {line!r}")

    def go(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        self.process.wait(60)
        self.path.unlink(missing_ok=True)
        if not line:
            raise RuntimeError("the sender died without a result")
        result: dict[str, Any] = orjson.loads(line)
        if result["failures"]:
            raise RuntimeError(f"the sender failed: {result['failures'][:3]}")
        return result


def _pythonpath() -> str:
    root = str(Path(__file__).resolve().parents[2])
    existing = os.environ.get("PYTHONPATH")
    return f"{root}{os.pathsep}{existing}" if existing else root


def backend_pids(db: Database) -> list[int]:
    """PostgreSQL backends connected to the benchmark database (none for SQLite)."""
    if db.engine != "postgresql":
        return []
    engine = sa.create_engine(db.sqlalchemy_url(), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT pid FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            return [int(pid) for (pid,) in rows]
    finally:
        engine.dispose()


def measure(
    server: Server,
    key: str,
    bodies: list[bytes],
    db: Database,
    expected_new: int,
    expected_duplicates: int,
) -> dict[str, Any]:
    """One timed run; raises unless every event came back exactly as expected."""
    sender = Sender(server, key, bodies, db.workdir)
    backends_before = {pid: cpu_seconds(pid) for pid in backend_pids(db)}
    user_before, system_before = server.cpu_split()
    outcome = sender.go()
    user_after, system_after = server.cpu_split()
    # Backends opened during the run started from zero; one closed during it is lost
    # (the server's pool keeps its connections, so that is rare).
    database_cpu = sum(cpu_seconds(pid) - backends_before.get(pid, 0.0) for pid in backend_pids(db))
    user, system = user_after - user_before, system_after - system_before
    cpu = user + system
    elapsed = outcome["finished"] - outcome["started"]
    events = expected_new + expected_duplicates
    exact = (
        outcome["accepted"] == expected_new
        and outcome["duplicates"] == expected_duplicates
        and outcome["rejected"] == 0
    )
    if not exact:
        raise RuntimeError(
            f"ingest was not exact: expected {expected_new} accepted and "
            f"{expected_duplicates} duplicates, got {outcome['accepted']} accepted, "
            f"{outcome['duplicates']} duplicates, {outcome['rejected']} rejected"
        )
    return {
        "events": events,
        "accepted": outcome["accepted"],
        "duplicates": outcome["duplicates"],
        "requests": outcome["requests"],
        "retries_429": outcome["retries_429"],
        "seconds": elapsed,
        "events_per_s": events / elapsed,
        "server_cpu_s": cpu,
        "server_system_cpu_s": system,
        "server_cpu_pct": 100 * cpu / elapsed,
        "cpu_us_per_event": 1e6 * cpu / events,
        "database_cpu_us_per_event": 1e6 * database_cpu / events,
        "sender_cpu_us_per_event": 1e6 * outcome["cpu_s"] / events,
        "exact": exact,
    }
