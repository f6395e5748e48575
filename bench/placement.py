"""GraphQL placement on SQLite: on the event loop (nowait reads) or on worker threads.

Decision 0014 keeps cheap documents on the event loop on SQLite only if that is worth
it and cannot stall the loop. Two servers run side by side on one SQLite database,
identical but for ``TALLYBOARD_INLINE_EXECUTION``:

1. **Cost**: the ceiling's three queries, interleaved (inline, threads, inline, ...);
   the ratio is inline / threads, per round, median (req/s, and server CPU per request
   the other way round, so > 1 means inline is cheaper).
2. **Responsiveness under writes**: while a ``tallyboard backfill`` process writes
   into the same file (the write lock taken again and again, WAL growing and
   checkpointed) and ``bench.loadgen`` sends ``apiUsageStats``, a probe asks
   ``/healthz`` every 10 ms on its own connection. A read that waited on the event loop
   would show as a probe stalled for as long.
"""

from __future__ import annotations

import http.client
import statistics
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from bench import workload as w
from bench.server import TALLYBOARD, Database, Server, fresh_database, running_server

SECTION = "placement"
TITLE = "GraphQL placement on SQLite: event loop or worker threads (decision 0014)"
COMMAND = ".venv/bin/python -m bench --only placement"
LABELS = {
    "typename": "`{ __typename }`",
    "api_usage_top10": "`apiUsageStats` top 10",
    "ai_combined_cached": "`aiCreditUsageStatsCombined`, 25 orgs, cached",
}
FALLBACKS = "tallyboard_graphql_inline_fallbacks_total"


def _probe(server: Server, seconds: float) -> list[float]:
    """``/healthz`` latencies (ms), one request every 10 ms for ``seconds``."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        latencies.append((time.perf_counter() - started) * 1000)
        time.sleep(0.01)
    conn.close()
    return latencies


def _writer(db: Database, workload: w.Workload, quick: bool) -> subprocess.Popen[bytes]:
    """A ``tallyboard backfill`` of fresh events into the same database, started now."""
    days, operations, tokens = (5, 10, 3) if quick else (92, 40, 10)
    lines, _ = w.usage_events(
        workload.org_uuids, datetime.now(UTC), operations=operations, tokens=tokens, days=days
    )
    path = db.workdir / f"writes-{time.monotonic_ns()}.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return subprocess.Popen(
        [*TALLYBOARD, "backfill", str(path), "--batch-size", "2000"],
        env=db.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _under_writes(
    server: Server, db: Database, workload: w.Workload, payload: bytes, cfg: dict[str, Any]
) -> dict[str, Any]:
    writer = _writer(db, workload, cfg["quick"])
    fallbacks = server.metric(FALLBACKS)
    probes: list[float] = []
    try:
        load = w.measure(
            server,
            payload,
            workload.token,
            connections=4,
            duration=cfg["duration"] * 2,
            warmup=0.1,
            during=lambda: probes.extend(_probe(server, cfg["duration"] * 2)),
        )
    finally:
        writer.kill()
        writer.wait(30)
    ordered = sorted(probes)
    return {
        "graphql_throughput": load["throughput"],
        "graphql_p99_ms": load["p99_ms"],
        "probes": len(probes),
        "probe_p50_ms": round(statistics.median(ordered), 2),
        "probe_p99_ms": round(ordered[int(len(ordered) * 0.99) - 1], 2),
        "probe_max_ms": round(ordered[-1], 2),
        "inline_fallbacks": server.metric(FALLBACKS) - fallbacks,
    }


def run(quick: bool) -> dict[str, Any]:
    cfg = {**w.settings_for(quick), "quick": quick}
    with fresh_database("sqlite", "placement") as db:
        workload = w.prepare(db, quick)
        payloads = w.queries(workload)
        with (
            running_server(db) as inline,
            running_server(db, inline_execution="false") as threads,
        ):
            servers = {"inline": inline, "threads": threads}
            for server in servers.values():
                for payload in payloads.values():
                    w.check_once(server, payload, workload.token)
            runs: dict[str, dict[str, list[dict[str, Any]]]] = {
                name: {label: [] for label in servers} for name in payloads
            }
            for _ in range(cfg["rounds"]):
                for name, payload in payloads.items():
                    for label, server in servers.items():
                        runs[name][label].append(
                            w.measure(
                                server,
                                payload,
                                workload.token,
                                connections=cfg["connections"],
                                duration=cfg["duration"],
                                warmup=cfg["warmup"],
                            )
                        )
            writes = {
                label: _under_writes(server, db, workload, payloads["api_usage_top10"], cfg)
                for label, server in servers.items()
            }
    return {"quick": quick, "settings": cfg, "cost": _cost(runs), "under_writes": writes}


def _cost(runs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, Any]:
    cost = {}
    for name, by_label in runs.items():
        pairs = list(zip(by_label["inline"], by_label["threads"], strict=True))
        cost[name] = {
            "inline": w.summarize(by_label["inline"]),
            "threads": w.summarize(by_label["threads"]),
            "throughput_ratio": round(
                statistics.median(i["throughput"] / t["throughput"] for i, t in pairs), 3
            ),
            "cpu_ratio": round(
                statistics.median(t["server_cpu_us"] / i["server_cpu_us"] for i, t in pairs), 3
            ),
        }
    return cost


def render(results: dict[str, Any]) -> str:
    cfg = results["settings"]
    lines = [
        f"Two servers on one SQLite database, {cfg['rounds']} interleaved rounds of "
        f"{cfg['duration']} s ({cfg['connections']} connections). Ratios: inline / threads "
        "for req/s, threads / inline for server CPU per request (> 1: inline is cheaper).",
        "",
    ]
    if results.get("note"):
        lines += [f"> {results['note']}", ""]
    lines += [
        "| query | inline req/s | threads req/s | req/s ratio | inline CPU µs | threads CPU µs "
        "| CPU ratio |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in results["cost"].items():
        lines.append(
            f"| {LABELS[name]} | {c['inline']['throughput']:.0f} | "
            f"{c['threads']['throughput']:.0f} | {c['throughput_ratio']:.2f} | "
            f"{c['inline']['server_cpu_us']:.0f} | {c['threads']['server_cpu_us']:.0f} | "
            f"{c['cpu_ratio']:.2f} |"
        )
    lines += [
        "",
        "While a `tallyboard backfill` process writes into the same file and `apiUsageStats` "
        "load runs (4 connections), `/healthz` is asked every 10 ms; a read waiting on the "
        "event loop would stall the probes:",
        "",
        "| placement | probes | /healthz p50 ms | p99 ms | max ms | apiUsageStats req/s "
        "| p99 ms | inline reruns on a thread |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, u in results["under_writes"].items():
        lines.append(
            f"| {label} | {u['probes']} | {u['probe_p50_ms']:.2f} | {u['probe_p99_ms']:.2f} | "
            f"{u['probe_max_ms']:.2f} | {u['graphql_throughput']:.0f} | "
            f"{u['graphql_p99_ms']:.2f} | {u['inline_fallbacks']:.0f} |"
        )
    lines += ["", f"Reproduce: `{COMMAND}`"]
    return "\n".join(lines)
