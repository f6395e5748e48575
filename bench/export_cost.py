"""Export cost: the automation-jobs export of 100k and 1M job rows (spec §9 "Exports").

One fresh database per engine holds two organizations with 100k and 1M
``automation.job`` events over the last_3_months window (one event per row of the
``Jobs`` sheet), 500 automations in 20 pipes (Zipf-skewed), written straight into the
``events`` table in exactly the normalized form ingest stores (payload and hash as
``domain/event_validation.py`` makes them; checked on the first event) with bulk
inserts, never through the service. The rollups are not written: the export reads the
events.

Each build runs in a fresh process (``bench/export_child.py``): XLSX through the
production path (``export_builder.run_once()``: claim, stream both sheets into a
temporary file, store it in the database one chunk at a time, the default), CSV
through ``exports.files.csv_file`` (into a temporary file) on the same ``Jobs`` rows.
Reported: wall time, rows per second, the build's peak resident memory (VmHWM, reset
right before the build) and the file size. Bounded memory means the 1M
build peaks no higher than the 100k one (allowing 20% for noise); the ratio is the
target.
"""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from bench import workload as w
from bench.query_latency.automation_data import (
    AUTOMATION_COLUMNS,
    PIPE_COLUMNS,
    automation_tables,
)
from bench.query_latency.dataset import days_of, epoch
from bench.query_latency.loading import Loader
from bench.query_latency.plan import Tier
from bench.server import Database, fresh_database
from tallyboard.domain.event_validation import EventValidator

SECTION = "export_cost"
TITLE = "Export cost: automation jobs (time and peak memory)"
COMMAND = ".venv/bin/python -m bench --only export_cost"
FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (1_000, 5_000)
AUTOMATIONS = 500
PIPES = 20
MAX_PEAK_RATIO = 1.2
"""Peak RSS of the largest build over the smallest's: bounded memory stays near 1."""
_EVENT_COLUMNS = (
    "org_pk", "source", "event_id", "type", "time_ms", "payload_hash", "payload",
    "received_at_ms",
)  # fmt: skip
_TEMPLATE = (
    '{"type":"automation.job","time":%d,"data":{"automationId":"%s",'
    '"automationName":null,"jobs":%d}}'
)


def _job_type_code() -> int:
    from tallyboard.domain.events import EVENT_TYPE_CODES
    from tallyboard.domain.usage import EventType

    return int(EVENT_TYPE_CODES[EventType.AUTOMATION_JOB])


def _check_payload(org_uuid: str, time_ms: int, automation_id: str, jobs: int) -> None:
    """The bench's fast payloads are byte for byte what ingest would store."""
    stamp = datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]
    raw = {
        "id": "check",
        "source": "bench",
        "organization": org_uuid,
        "type": "automation.job",
        "time": stamp + "Z",
        "data": {"automationId": automation_id, "jobs": jobs},
    }
    event = EventValidator().validate(raw, 0)
    expected = (_TEMPLATE % (time_ms, automation_id, jobs)).encode()
    if getattr(event, "payload", None) != expected:
        raise AssertionError(f"bench payload {expected!r} differs from ingest's {event!r}")


def _events(org_pk: int, count: int, start_ms: int, end_ms: int) -> Iterator[tuple[Any, ...]]:
    """``count`` job events, oldest first, Zipf-skewed over the automations."""
    rng = random.Random(count)
    ids = [f"auto-{a:05d}" for a in range(AUTOMATIONS)]
    cumulative, total = [], 0.0
    for rank in range(AUTOMATIONS):
        total += 1.0 / (rank + 1)
        cumulative.append(total)
    step = (end_ms - start_ms) / count
    code = _job_type_code()
    for chunk in range(0, count, 10_000):
        picked = rng.choices(ids, cum_weights=cumulative, k=min(10_000, count - chunk))
        for offset, automation_id in enumerate(picked):
            i = chunk + offset
            time_ms = start_ms + int(i * step)
            jobs = 1 if i % 10 else 1 + i % 7
            payload = (_TEMPLATE % (time_ms, automation_id, jobs)).encode()
            digest = hashlib.sha256(payload).digest()[:16]
            yield (org_pk, "bench", f"j{i:08d}", code, time_ms, digest, payload, time_ms + 900)


def _load(db: Database, sizes: tuple[int, ...], days: list[date], now_ms: int) -> dict[str, Any]:
    orgs = [{"id": f"exp-{size}", "name": f"Export {size:,}"} for size in sizes]
    db.apply({"organizations": orgs})
    loader = Loader(db)
    found = {str(i): (int(pk), str(u)) for i, pk, u in loader.query(
        "SELECT id, pk, uuid FROM organizations", []
    )}  # fmt: skip
    tier = Tier("export", 1_000, 1, 1, 1, 1, naive=False, automations=AUTOMATIONS, pipes=PIPES)
    start_ms = epoch(days[0]) * 1000
    loaded: dict[str, Any] = {"pks": {}, "load_seconds": {}}
    try:
        for size in sizes:
            org_pk, org_uuid = found[f"exp-{size}"]
            _check_payload(org_uuid, start_ms + 1, "auto-00000", 3)
            started = time.perf_counter()
            tables = automation_tables(tier, days, seed=size, now_ms=now_ms)
            for table in ("pipes", "automations"):
                columns = _CATALOG[table]
                loader.insert(table, ("org_pk", *columns), ((org_pk, *r) for r in tables[table]))
            loader.insert("events", _EVENT_COLUMNS, _events(org_pk, size, start_ms, now_ms))
            loaded["pks"][size] = org_pk
            loaded["load_seconds"][str(size)] = time.perf_counter() - started
            print(
                f"export_cost: {db.engine}: generated and loaded {size:,} job events in "
                f"{loaded['load_seconds'][str(size)]:.1f} s",
                file=sys.stderr,
                flush=True,
            )
        if db.engine == "postgresql":
            loader.execute("ANALYZE")
    finally:
        loader.close()
    return loaded


_CATALOG = {"pipes": PIPE_COLUMNS, "automations": AUTOMATION_COLUMNS}


def _build(db: Database, org_pk: int, mode: str) -> dict[str, Any]:
    """One export built by a fresh process; its costs."""
    export_id = f"{org_pk:08x}{mode}".ljust(32, "0")
    loader = Loader(db)
    try:
        loader.execute("DELETE FROM export_chunks")
        loader.execute("DELETE FROM export_jobs")
        parameters = json.dumps({"organization_pk": org_pk, "period": "last_3_months"})
        now_ms = int(time.time() * 1000)
        row = (export_id, "user", 1, "automation_jobs", "XLSX", parameters, "created", False)
        loader.insert(
            "export_jobs",
            ("id", "principal_kind", "principal_pk", "kind", "format", "parameters", "status",
             "partial", "created_at"),
            [(*row, now_ms)],
        )  # fmt: skip
    finally:
        loader.close()
    run = subprocess.run(
        [sys.executable, "-m", "bench.export_child", db.url, export_id, mode],
        env=db.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        raise RuntimeError(f"export build ({mode}) failed: {run.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def run(quick: bool) -> dict[str, Any]:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    started = time.perf_counter()
    engines, skipped = w.engines()
    now = datetime.now(UTC)
    days = days_of(now.date())
    results: dict[str, Any] = {
        "quick": quick,
        "sizes": list(sizes),
        "automations": AUTOMATIONS,
        "pipes": PIPES,
        "window": [days[0].isoformat(), now.date().isoformat()],
        "engines": {},
    }
    if skipped:
        results["skipped"] = skipped
    for engine in engines:
        with fresh_database(engine, name="export") as db:
            loaded = _load(db, sizes, days, int(now.timestamp() * 1000))
            builds = []
            # CSV on the first engine only in a full run (the builder's cost is the same
            # whatever the engine; it keeps the full run within a few minutes).
            modes = ("xlsx", "csv") if quick or engine == engines[0] else ("xlsx",)
            for size in sizes:
                for mode in modes:
                    measured = _build(db, loaded["pks"][size], mode)
                    measured["rows"] = size
                    measured["rows_per_second"] = size / measured["wall_seconds"]
                    builds.append(measured)
            results["engines"][engine] = {"load_seconds": loaded["load_seconds"], "builds": builds}
    results["wall_seconds"] = time.perf_counter() - started
    results["targets"] = _targets(results)
    return results


def _targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    targets = []
    small, large = results["sizes"][0], results["sizes"][-1]
    for engine, data in results["engines"].items():
        for mode in sorted({b["mode"] for b in data["builds"]}, reverse=True):
            peaks = {b["rows"]: b["peak_rss_bytes"] for b in data["builds"] if b["mode"] == mode}
            ratio = peaks[large] / peaks[small]
            targets.append(
                {
                    "section": SECTION,
                    "target": (
                        f"{engine}: {mode.upper()} export peak RSS at {large:,} rows ≤ "
                        f"{MAX_PEAK_RATIO}× that at {small:,} rows (bounded memory)"
                    ),
                    "measured": ratio,
                    "maximum": MAX_PEAK_RATIO,
                    "met": ratio <= MAX_PEAK_RATIO,
                }
            )
    return targets


_INTRO = (
    "The automation-jobs export (spec §9) of {sizes[0]:,} and {sizes[1]:,} job rows: one "
    "`automation.job` event per `Jobs` row over the last_3_months window ({window[0]} to "
    "{window[1]}), {automations} automations in {pipes} pipes (Zipf-skewed), bulk-written "
    "into `events` in the exact normalized form ingest stores. Each build runs in a fresh "
    "process: **XLSX** is the production path (`export_builder.run_once()`: claim, stream "
    "the `Jobs` and `Automations` sheets through XlsxWriter in constant-memory mode, store "
    "the file in the database); **CSV** writes the same `Jobs` rows through "
    "`exports.files.csv_file` (the usage report's CSV writer; the jobs export itself is "
    "XLSX only; measured on the first engine). Peak RSS is the build process's VmHWM, "
    "reset right before the build; "
    "*over idle* subtracts the process's resident memory with the application loaded. "
    "On SQLite the peak includes the connection's page cache, which fills as the build "
    "reads the events up to its fixed ceiling (`cache_size`, 64 MiB): bounded, but it "
    "shows as growth between sizes below that ceiling. "
    "**Target: bounded memory -- the peak at {sizes[1]:,} rows within "
    "{max_ratio}× the peak at {sizes[0]:,} rows.**"
)


def _mb(value: float) -> str:
    return f"{value / 1_000_000:.1f}"


def render(results: dict[str, Any]) -> str:
    lines = [_INTRO.format(**results, max_ratio=MAX_PEAK_RATIO), ""]
    if results.get("quick"):
        lines += ["_Quick mode: tiny exports, one build each; the figures mean nothing._", ""]
    for engine, data in results["engines"].items():
        lines += [
            f"#### {engine}",
            "",
            "| Format | Job rows | Wall (s) | CPU (s) | Rows/s | Peak RSS (MB) | Over idle (MB) "
            "| File (MB) |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for b in data["builds"]:
            over = b["peak_rss_bytes"] - b["baseline_rss_bytes"]
            lines.append(
                f"| {b['mode'].upper()} | {b['rows']:,} | {b['wall_seconds']:.1f} | "
                f"{b['cpu_seconds']:.1f} | "
                f"{b['rows_per_second']:,.0f} | {_mb(b['peak_rss_bytes'])} | {_mb(over)} | "
                f"{_mb(b['file_bytes'])} |"
            )
        loads = ", ".join(f"{int(k):,} events {v:.1f} s" for k, v in data["load_seconds"].items())
        lines += ["", f"Data generation and bulk load on {engine}: {loads}.", ""]
    lines.append("#### Targets")
    lines.append("")
    for target in results["targets"]:
        verdict = "met" if target["met"] else "**missed**"
        lines.append(f"- {target['target']}: {verdict} ({target['measured']:.2f}×).")
    if results.get("skipped"):
        lines.append(f"- Not measured: {results['skipped']}.")
    lines += [
        "",
        f"Reproduce: `{COMMAND}` (the whole section took {results['wall_seconds']:.0f} s).",
        "",
    ]
    return "\n".join(lines)
