"""Query scale-out: GraphQL throughput with 1, 2 and 4 server processes on one
PostgreSQL.

The servers (``TALLYBOARD_WORKERS`` = 1, 2, 4) all run at once on one database and the
load visits them in turn, round after round, so each worker count sees the same
machine. Connections grow with the workers (8 per process) so every process has work.
Ingest scale-out is measured by the ingest section (helper C's ``ingest_throughput``).
"""

from __future__ import annotations

import os
import statistics
from contextlib import ExitStack
from typing import Any

from bench import workload as w
from bench.server import fresh_database, running_server

SECTION = "scale_out"
TITLE = "Scale-out (queries)"
COMMAND = ".venv/bin/python -m bench --only scale_out"
WORKERS = (1, 2, 4)
QUERIES = ("typename", "api_usage_top10")


def run(quick: bool) -> dict[str, Any]:
    engines, note = w.engines()
    cfg = w.settings_for(quick)
    results: dict[str, Any] = {
        "quick": quick,
        "settings": cfg,
        "cores": os.cpu_count(),
        "note": note,
        "workers": {},
    }
    if "postgresql" not in engines:
        results["skipped"] = True
        return results
    with fresh_database("postgresql", "scale") as db:
        workload = w.prepare(db, quick)
        payloads = w.queries(workload)
        with ExitStack() as stack:
            servers = {n: stack.enter_context(running_server(db, workers=n)) for n in WORKERS}
            for server in servers.values():
                for name in QUERIES:
                    w.check_once(server, payloads[name], workload.token)
            runs: dict[int, dict[str, list[dict[str, Any]]]] = {
                n: {q: [] for q in QUERIES} for n in WORKERS
            }
            for _ in range(cfg["rounds"]):
                for n, server in servers.items():
                    for q in QUERIES:
                        runs[n][q].append(
                            w.measure(
                                server,
                                payloads[q],
                                workload.token,
                                connections=min(32, cfg["connections"] * n),
                                duration=cfg["duration"],
                                warmup=cfg["warmup"],
                            )
                        )
            rss = {n: server.peak_rss_bytes() for n, server in servers.items()}
    for n in WORKERS:
        results["workers"][str(n)] = {
            "queries": {q: w.summarize(r) for q, r in runs[n].items()},
            "peak_rss_bytes": rss[n],
        }
    base = runs[WORKERS[0]]
    results["speedup"] = {
        str(n): {
            q: round(
                statistics.median(
                    a["throughput"] / b["throughput"]
                    for a, b in zip(runs[n][q], base[q], strict=True)
                    if b["throughput"]
                ),
                3,
            )
            for q in QUERIES
        }
        for n in WORKERS
    }
    return results


def render(results: dict[str, Any]) -> str:
    if results.get("skipped"):
        return f"> Skipped: {results.get('note')}\n\nReproduce: `{COMMAND}`"
    cfg = results["settings"]
    lines = [
        f"PostgreSQL, {results['cores']} cores. Servers with 1, 2 and 4 processes ran side by "
        f"side; the load visited them in turn for {cfg['rounds']} rounds of {cfg['duration']} s "
        "(8 connections per process, at most 32). Speed-up is the median per-round ratio to "
        "one process.",
        "",
        "| processes | query | req/s | p50 ms | p99 ms | speed-up | peak RSS (all processes) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for n, data in results["workers"].items():
        for q, s in data["queries"].items():
            lines.append(
                f"| {n} | `{q}` | {s['throughput']:.0f} | {s['p50_ms']:.2f} | "
                f"{s['p99_ms']:.2f} | {results['speedup'][n][q]:.2f}× | "
                f"{data['peak_rss_bytes'] / 2**20:.0f} MiB |"
            )
    lines += [
        "",
        "Where the bottleneck is: the load generator and every server process share the "
        f"machine's {results['cores']} cores (and PostgreSQL needs CPU too), so beyond one "
        "process per free core more processes only add context switches; a single process "
        "is CPU-bound in Python (see the ceiling section's profile). On a machine with more "
        "cores, throughput grows with processes until PostgreSQL or the cores saturate. "
        "Ingest scale-out (rows for 1, 2 and 4 processes) is in the ingest section.",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)
