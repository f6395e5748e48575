"""Real `tallyboard serve` processes for the benchmarks, on fresh databases.

Every section of the suite measures servers the way they run in production: a separate
process started with the CLI, configured through ``TALLYBOARD_*`` variables, talked to
over loopback. This module owns their lifecycle (fresh database, migrate, tenancy via
``admin apply``, start, wait for ``/readyz``, stop gracefully) and reads what the
kernel knows about them (CPU seconds, peak RSS) so sections do not each reinvent it.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

TALLYBOARD = [sys.executable, "-m", "tallyboard"]
PG_ADMIN_URL = os.environ.get(
    "TALLYBOARD_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def postgres_available() -> bool:
    """Whether the PostgreSQL of ``TALLYBOARD_BENCH_PG`` accepts connections."""
    url = sa.engine.make_url(PG_ADMIN_URL)
    try:
        with socket.create_connection((url.host or "127.0.0.1", url.port or 5432), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Database:
    """A fresh, migrated database: a SQLite file in a temp dir or a new PostgreSQL DB."""

    engine: str  # "sqlite" | "postgresql"
    url: str
    workdir: Path

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "TALLYBOARD_DATABASE_URL": self.url,
            "TALLYBOARD_LOG_LEVEL": "warning",
            **extra,
        }

    def cli(self, args: list[str], stdin: str | None = None, **extra: str) -> str:
        result = subprocess.run(
            [*TALLYBOARD, *args],
            env=self.env(**extra),
            capture_output=True,
            text=True,
            check=False,
            input=stdin,
        )
        if result.returncode != 0:
            raise RuntimeError(f"tallyboard {' '.join(args)} failed: {result.stderr[-2000:]}")
        return result.stdout

    def apply(self, document: Mapping[str, Any], **extra: str) -> dict[str, Any]:
        """`tallyboard admin apply --json` (``extra``: more environment); returns its
        report (secrets included)."""
        path = self.workdir / f"tenancy-{uuid.uuid4().hex[:8]}.json"
        path.write_text(json.dumps(document))
        report: dict[str, Any] = json.loads(
            self.cli(["admin", "apply", str(path), "--json"], **extra)
        )
        return report

    def sqlalchemy_url(self) -> str:
        return self.url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def fresh_database(engine: str, name: str = "bench") -> Iterator[Database]:
    """A migrated, empty database, dropped afterwards."""
    workdir = Path(tempfile.mkdtemp(prefix=f"tb-bench-{name}-"))
    dbname = ""
    if engine == "sqlite":
        url = f"sqlite:///{workdir / 'bench.db'}"
    elif engine == "postgresql":
        dbname = f"tb_bench_{name}_{uuid.uuid4().hex[:8]}"
        _pg_admin(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{dbname}"
    else:
        raise ValueError(f"unknown engine {engine!r}")
    database = Database(engine=engine, url=url, workdir=workdir)
    try:
        database.cli(["migrate"])
        yield database
    finally:
        if dbname:
            _pg_admin(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        subprocess.run(["rm", "-rf", str(workdir)], check=False)


def _pg_admin(statement: str) -> None:
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        admin.dispose()


@dataclass
class Server:
    """One running `tallyboard serve` (possibly with several worker processes)."""

    process: subprocess.Popen[bytes]
    port: int
    env: dict[str, str] = field(repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """The server process and its children (uvicorn workers, if any)."""
        return [self.process.pid, *_children(self.process.pid)]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids())

    def cpu_split(self) -> tuple[float, float]:
        """User and system CPU seconds of the server's processes."""
        times = [cpu_times(pid) for pid in self.pids()]
        return sum(u for u, _ in times), sum(s for _, s in times)

    def rss_bytes(self) -> int:
        """Current resident memory of the server and its workers, summed."""
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids()) * 1024

    def peak_rss_bytes(self) -> int:
        """High-water resident memory (VmHWM), summed over the server's processes."""
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids()) * 1024

    def metric(self, name: str) -> float:
        """Sum of a Prometheus sample family's values on this server (0 when absent)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and (line[len(name)] in " {"):
                total += float(line.split()[-1])
        return total


@contextmanager
def running_server(database: Database, workers: int = 1, **settings: str) -> Iterator[Server]:
    """Start `tallyboard serve` on the database; stop it with SIGTERM afterwards.

    ``settings`` are extra ``TALLYBOARD_*`` values by lower-case name, e.g.
    ``flush_interval="1"``.
    """
    port = free_port()
    extra = {f"TALLYBOARD_{k.upper()}": v for k, v in settings.items()}
    env = database.env(TALLYBOARD_PORT=str(port), TALLYBOARD_WORKERS=str(workers), **extra)
    process = subprocess.Popen([*TALLYBOARD, "serve"], env=env, stdout=subprocess.DEVNULL)
    server = Server(process=process, port=port, env=env)
    try:
        _wait_ready(server, time.monotonic() + 60)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(server: Server, deadline: float) -> None:
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the server exited with {server.process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the server did not become ready within 60 s")


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    found: list[int] = []
    for child in text.split():
        found.append(int(child))
        found.extend(_children(int(child)))
    return found


def cpu_times(pid: int) -> tuple[float, float]:
    """User and system CPU seconds of a process (Linux /proc); zeros once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    return sum(cpu_times(pid))


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
