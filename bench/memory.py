"""Memory: a server's peak RSS under each query load, and the metering accumulator's
memory for 1M distinct keys.

Each load runs against a fresh server process so every peak (VmHWM) is that load's
own. The accumulator is measured in a separate Python process (tracemalloc, plus the
RSS growth) so nothing else in the driver muddies the figure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from bench import workload as w
from bench.server import fresh_database, running_server

SECTION = "memory"
TITLE = "Memory"
COMMAND = ".venv/bin/python -m bench --only memory"

_ACCUMULATOR_PROBE = r"""
import json, sys, time, tracemalloc
from datetime import date, timedelta
from pathlib import Path

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0

from tallyboard.metering.accumulator import Accumulator
from tallyboard.observability.metrics import Metrics

keys = int(sys.argv[1])
accumulator = Accumulator(keys + 1, Metrics())
days = [date(2026, 1, 1) + timedelta(days=d) for d in range(31)]
names = [f"Operation{i:04d}" for i in range(1000)]
labels = [f"token-{i:02d}" for i in range(32)]
# Distinct keys built from shared strings, as in production (interned operation names).
parts = [
    (1 + i // 32000, days[i % 31], names[(i // 31) % 1000], labels[i % 32])
    for i in range(keys)
]
before_rss = rss()
tracemalloc.start()
for org, day, name, label in parts:
    accumulator.record((org, day, name, label))  # a fresh key tuple, as per request
current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
after_rss = rss()
timed = [tuple(p) for p in parts[: min(keys, 200_000)]]
start = time.perf_counter()
for key in timed:
    accumulator.record(key)
per_call = (time.perf_counter() - start) / len(timed)
print(json.dumps({"keys": len(accumulator), "tracemalloc_bytes": current,
                  "rss_delta_bytes": after_rss - before_rss,
                  "record_existing_key_ns": per_call * 1e9}))
"""


def accumulator_memory(keys: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", _ACCUMULATOR_PROBE, str(keys)],
        capture_output=True,
        text=True,
        check=True,
        cwd=w.ROOT,
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def run(quick: bool) -> dict[str, Any]:
    cfg = w.settings_for(quick)
    loads: dict[str, Any] = {}
    with fresh_database("sqlite", "memory") as db:
        workload = w.prepare(db, quick)
        for name, payload in w.queries(workload).items():
            with running_server(db) as server:
                w.check_once(server, payload, workload.token)
                idle = server.rss_bytes()
                run_ = w.measure(
                    server,
                    payload,
                    workload.token,
                    connections=cfg["connections"],
                    duration=cfg["duration"] * 2,
                    warmup=cfg["warmup"],
                )
                loads[name] = {
                    "rss_before_load_bytes": idle,
                    "peak_rss_bytes": server.peak_rss_bytes(),
                    "requests": run_["requests"],
                }
    keys = 10_000 if quick else 1_000_000
    return {
        "quick": quick,
        "settings": cfg,
        "loads": loads,
        "accumulator": accumulator_memory(keys),
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "Peak resident memory (VmHWM) of one SQLite-backed server process, fresh for each load:",
        "",
        "| load | RSS before | peak RSS under load | requests served |",
        "|---|---:|---:|---:|",
    ]
    for name, data in results["loads"].items():
        lines.append(
            f"| `{name}` | {data['rss_before_load_bytes'] / 2**20:.0f} MiB | "
            f"{data['peak_rss_bytes'] / 2**20:.0f} MiB | {data['requests']} |"
        )
    acc = results["accumulator"]
    per_key = acc["tracemalloc_bytes"] / max(1, acc["keys"])
    lines += [
        "",
        f"Metering accumulator with {acc['keys']:,} distinct keys (organization, day, "
        f"operation name, token label; strings shared as in production): "
        f"**{acc['tracemalloc_bytes'] / 2**20:.0f} MiB** by tracemalloc ({per_key:.0f} B per "
        f"key), RSS growth {acc['rss_delta_bytes'] / 2**20:.0f} MiB. Recording a call "
        f"under an existing key costs {acc['record_existing_key_ns']:.0f} ns. "
        "The default bound `TALLYBOARD_METERING_MAX_KEYS` = 100,000 keeps it near a tenth "
        "of that; ingest-load RSS is in the ingest section.",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)
