"""The servers of the ``producer_overhead`` section: the producer apps under uvicorn,
one load run against them (with the server's CPU), and Tallyboard's tenancy and count."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.server import cpu_seconds, free_port

ACME = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
ROOT_DIR = Path(__file__).resolve().parents[1]


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    port: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)


@contextmanager
def app_server(
    factory: str, metered: bool, url: str, key: str, seed: int = 0
) -> Iterator[AppServer]:
    """``seed`` is the server's ``PYTHONHASHSEED``: give each server of a comparison its
    own, varied from round to round (see ``producer_overhead``)."""
    port = free_port()
    env = {
        **os.environ,
        "BENCH_METERED": "1" if metered else "0",
        "TALLYBOARD_URL": url,
        "TALLYBOARD_INGEST_KEY": key,
        "BENCH_SOURCE": f"bench-{factory}-{uuid.uuid4().hex[:6]}",
        "PYTHONHASHSEED": str(seed),
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        f"bench.producer_apps:{factory}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--lifespan",
        "on",
    ]
    process = subprocess.Popen(command, cwd=ROOT_DIR, env=env, stdout=subprocess.DEVNULL)
    server = AppServer(process, port)
    try:
        _wait_ready(server)
        yield server
    finally:
        process.terminate()  # the lifespan closes the meter: it delivers what is left
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


def _wait_ready(server: AppServer) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the app server exited with {server.process.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=1)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the app server did not become ready within 60 s")


def measure(server: AppServer, app: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """One load run by a separate ``bench.loadgen`` process; its summary + server CPU."""
    with tempfile.NamedTemporaryFile("wb", suffix=".body", delete=False) as handle:
        handle.write(app["body"])
        body_file = Path(handle.name)
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        "--url",
        f"http://127.0.0.1:{server.port}{app['path']}",
        "--method",
        app["method"],
        "--connections",
        str(cfg["connections"]),
        "--duration",
        str(cfg["duration"]),
        "--warmup",
        str(cfg["warmup"]),
    ]
    if app["body"]:
        command += ["--body-file", str(body_file)]
    for header in app["headers"]:
        command += ["--header", header]
    try:
        cpu_before = server.cpu_seconds()
        run = subprocess.run(
            command, cwd=ROOT_DIR, capture_output=True, text=True, check=False, timeout=300
        )
        cpu = server.cpu_seconds() - cpu_before
    finally:
        body_file.unlink(missing_ok=True)
    if run.returncode != 0:
        raise RuntimeError(f"bench.loadgen failed: {run.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(run.stdout)
    if result["errors"]:
        raise RuntimeError(f"the load run saw errors: {result['first_error']}")
    served = result["requests"] + result["warmup_requests"]
    result["served"] = served
    result["server_cpu_us"] = round(1e6 * cpu / served, 1) if served else 0.0
    return result


def tenancy() -> dict[str, Any]:
    return {
        "organizations": [{"id": "acme", "uuid": ACME, "name": "Acme Corp"}],
        "users": [
            {
                "email": "bench@example.test",
                "name": "Bench",
                "memberships": [{"organization": "acme", "role": "admin"}],
                "personalTokens": [{"name": "stats", "billingOrganization": "acme"}],
            }
        ],
        "ingestKeys": [{"name": "producers"}],
    }


def counted_by_token(url: str, token: str) -> dict[str, int]:
    query = (
        "query($org: ID!) { apiUsageStats(organizationUuid: $org, period: current_month,"
        " dimension: token) { data { dimension metric } } }"
    )
    conn = http.client.HTTPConnection(url.removeprefix("http://"), timeout=30)
    conn.request(
        "POST",
        "/graphql",
        body=json.dumps({"query": query, "variables": {"org": ACME}}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    answer = json.loads(conn.getresponse().read())
    return {i["dimension"]: i["metric"] for i in answer["data"]["apiUsageStats"]["data"]}
