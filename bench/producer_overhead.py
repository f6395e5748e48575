"""Producer overhead: what the metering middleware costs an API that embeds it (§12).

Two applications -- a trivial Starlette route and the Strawberry example API
(``examples/metered-graphql-api``) -- each served three times by its own uvicorn process:
metered (``tallyboard_client.asgi.MeteringMiddleware`` + ``UsageMeter``, flushing every
second into a real ``tallyboard serve``), unmetered, and unmetered again as an A/A
control whose "loss" against the unmetered twin is the noise floor. Rounds rotate which
server goes first; the loss is the median of the per-round losses, as in the
``metering_overhead`` section. At the end the metered servers are stopped (their meters
deliver what is left) and ``apiUsageStats`` must show exactly the requests they served.

In-process figures complete the picture (bench/producer_micro.py): the cost of
``record()`` against a lock-free and an unlocked design, memory per distinct key, and the
middleware's own CPU per request without a server.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import producer_micro
from bench import workload as w
from bench.server import cpu_seconds, free_port, fresh_database, running_server

SECTION = "producer_overhead"
TITLE = "Producer overhead (tallyboard-client)"
COMMAND = ".venv/bin/python -m bench --only producer_overhead"
TARGET_LOSS = 0.01
ACME = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
ROOT_DIR = Path(__file__).resolve().parents[1]
APPS: dict[str, dict[str, Any]] = {
    "trivial": {
        "method": "GET",
        "path": "/cards/1",
        "body": b"",
        "headers": [f"x-org: {ACME}"],
        "token": "bench",
        "label": "trivial Starlette route (`GET /cards/{card_id}`)",
    },
    "strawberry": {
        "method": "POST",
        "path": "/graphql",
        "body": json.dumps({"query": "query GetCards { cards { id title done } }"}).encode(),
        "headers": ["Authorization: Bearer acme-mobile", "Content-Type: application/json"],
        "token": "Mobile App",
        "label": "Strawberry example API (`GetCards`)",
    },
}
VARIANTS = ("metered", "unmetered", "control")


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    port: int

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)


@contextmanager
def app_server(factory: str, metered: bool, url: str, key: str) -> Iterator[AppServer]:
    port = free_port()
    env = {
        **os.environ,
        "BENCH_METERED": "1" if metered else "0",
        "TALLYBOARD_URL": url,
        "TALLYBOARD_INGEST_KEY": key,
        "BENCH_SOURCE": f"bench-{factory}-{uuid.uuid4().hex[:6]}",
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


def _median_loss(a: list[dict[str, Any]], b: list[dict[str, Any]], key: str) -> list[float]:
    """Per-round loss of ``a`` against ``b``: throughput lost, or CPU per request added."""
    if key == "throughput":
        return [round(1 - x[key] / y[key], 4) for x, y in zip(a, b, strict=True) if y[key]]
    return [round(1 - y[key] / x[key], 4) for x, y in zip(a, b, strict=True) if x[key]]


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


def run(quick: bool) -> dict[str, Any]:
    cfg = w.settings_for(quick)
    rounds = cfg["rounds"] if quick else 2 * cfg["rounds"] - 1
    load = os.getloadavg()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {
        app: {v: [] for v in VARIANTS} for app in APPS
    }
    with fresh_database("sqlite", "producer") as db:
        secrets = db.apply(tenancy())
        key = secrets["ingestKeys"][0]["key"]
        reader = secrets["personalTokens"][0]["token"]
        with running_server(db, metering="false") as tallyboard:
            with ExitStack() as stack:
                servers = {
                    (app, variant): stack.enter_context(
                        app_server(app, variant == "metered", tallyboard.base_url, key)
                    )
                    for app in APPS
                    for variant in VARIANTS
                }
                for i in range(rounds):
                    for app, spec in APPS.items():
                        order = VARIANTS[i % 3 :] + VARIANTS[: i % 3]
                        for variant in order:
                            runs[app][variant].append(measure(servers[(app, variant)], spec, cfg))
            # The app servers are stopped: every metered call has been delivered.
            counted = counted_by_token(tallyboard.base_url, reader)
    apps: dict[str, Any] = {}
    targets = []
    for app, spec in APPS.items():
        r = runs[app]
        losses = _median_loss(r["metered"], r["unmetered"], "throughput")
        control = _median_loss(r["control"], r["unmetered"], "throughput")
        cpu = _median_loss(r["metered"], r["unmetered"], "server_cpu_us")
        served = sum(x["served"] for x in r["metered"])
        loss = round(statistics.median(losses), 4)
        apps[app] = {
            **{v: w.summarize(r[v]) for v in VARIANTS},
            "loss_per_round": losses,
            "loss": loss,
            "control_loss_per_round": control,
            "control_loss": round(statistics.median(control), 4),
            "cpu_loss_per_round": cpu,
            "cpu_loss": round(statistics.median(cpu), 4),
            "metered_requests": served,
            "counted": counted.get(spec["token"], 0),
            "exact": counted.get(spec["token"], 0) == served,
        }
        targets.append(
            {
                "section": SECTION,
                "target": f"{app}: throughput loss with metering ≤ 1%",
                "measured": loss,
                "maximum": TARGET_LOSS,
                "met": loss <= TARGET_LOSS,
            }
        )
        targets.append(
            {
                "section": SECTION,
                "target": f"{app}: apiUsageStats shows exactly the metered requests",
                "measured": int(apps[app]["exact"]),
                "minimum": 1,
                "met": apps[app]["exact"],
            }
        )
    return {
        "quick": quick,
        "settings": {**cfg, "rounds": rounds},
        "load_average_at_start": [round(x, 2) for x in load],
        "apps": apps,
        "record": producer_micro.record_costs(quick),
        "memory": producer_micro.memory(quick),
        "middleware": producer_micro.middleware_costs(quick),
        "targets": targets,
    }


def _pct(x: float) -> str:
    return f"{100 * x:+.1f} %"


def render(results: dict[str, Any]) -> str:
    cfg = results["settings"]
    load = results.get("load_average_at_start", [0, 0, 0])
    lines = [
        "Each application is served by three uvicorn processes (one worker each): "
        "**metered** (`MeteringMiddleware` + `UsageMeter`, flushing every second into a "
        "real `tallyboard serve`), **unmetered**, and an unmetered **control** (A/A: its "
        f"difference from the unmetered twin is the noise floor). {cfg['rounds']} rotating "
        f"rounds of {cfg['duration']} s runs with {cfg['connections']} connections from "
        f"`bench.loadgen`. Load average when the section started: {load[0]:.2f} "
        "(1 min) on this machine, which other work shares.",
        "",
        "| application | server | req/s (median) | p50 ms | p99 ms | server CPU µs/req |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for app, data in results["apps"].items():
        for variant in VARIANTS:
            v = data[variant]
            lines.append(
                f"| {app} | {variant} | {v['throughput']:.0f} | {v['p50_ms']:.2f} | "
                f"{v['p99_ms']:.2f} | {v.get('server_cpu_us', 0):.0f} |"
            )
    lines.append("")
    for app, data in results["apps"].items():
        verdict = (
            "met"
            if data["loss"] <= TARGET_LOSS
            else f"missed by {100 * (data['loss'] - TARGET_LOSS):.1f} percentage points"
        )
        lines += [
            f"**{APPS[app]['label']}**: throughput loss **{100 * data['loss']:.2f} %** "
            f"(target ≤ 1 %: {verdict}); per round "
            + ", ".join(_pct(x) for x in data["loss_per_round"])
            + f". Noise floor (control vs unmetered): **{100 * data['control_loss']:+.2f} %** "
            "(per round "
            + ", ".join(_pct(x) for x in data["control_loss_per_round"])
            + f"). Server CPU per request: **{100 * data['cpu_loss']:+.2f} %** with "
            "metering (per round "
            + ", ".join(_pct(x) for x in data["cpu_loss_per_round"])
            + f"). Exactness: the metered server answered {data['metered_requests']:,} "
            f"requests; `apiUsageStats` counts {data['counted']:,} "
            f"({'exact' if data['exact'] else 'NOT exact'}).",
            "",
        ]
    record, memory, middleware = results["record"], results["memory"], results["middleware"]
    lines += [
        f"**Recording a call** (`record()`, {record['calls']:,} calls over 64 keys, net of "
        f"the loop's own {record['loop_ns']:.0f} ns):",
        "",
        "| design | one thread, ns/call | four threads, ns/call |",
        "|---|---:|---:|",
        f"| dict + lock (`UsageMeter`) | {record['lock']['ns']:.0f} | "
        f"{record['lock']['ns_4_threads']:.0f} |",
        f"| lock-free (`deque.append`, aggregated by the flusher) | "
        f"{record['lock_free']['ns']:.0f} | {record['lock_free']['ns_4_threads']:.0f} |",
        f"| dict without a lock (loses increments between threads) | "
        f"{record['no_lock']['ns']:.0f} | {record['no_lock']['ns_4_threads']:.0f} |",
        "",
        f"**Memory**: {memory['bytes_per_key']:.0f} bytes per distinct key held by a meter "
        f"({memory['keys']:,} keys, tracemalloc, names already allocated by the app), so "
        f"the default `max_keys` of 100,000 bounds a meter near "
        f"{memory['bytes_per_key'] * 100_000 / 2**20:.0f} MiB. The lock-free design would "
        f"hold {memory['lock_free_bytes_per_call']:.0f} bytes per *call* until the flusher "
        "drains it, without a bound between flushes.",
        "",
        "**The middleware alone** (called directly, no server, median of interleaved "
        f"runs of {middleware['route'].get('requests', 0):,} route and "
        f"{middleware['graphql'].get('requests', 0):,} GraphQL requests): a route request costs "
        f"{middleware['route']['bare_us']:.1f} µs in Starlette, "
        f"{middleware['route']['metered_us']:.1f} µs metered "
        f"(+{middleware['route']['added_us']:.2f} µs); a GraphQL `POST` to the Strawberry "
        f"API {middleware['graphql']['bare_us']:.1f} µs, "
        f"{middleware['graphql']['metered_us']:.1f} µs metered "
        f"({middleware['graphql']['added_us']:+.2f} µs: reading, replaying and naming the "
        "body).",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)
