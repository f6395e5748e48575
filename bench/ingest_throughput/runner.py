"""The cells: per engine, batch size and replay share, a fresh server measured over
several exact runs (plus the PostgreSQL scale-out and one profiled run)."""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import workload as w
from bench.ingest_throughput.plan import CONNECTIONS, ORGANIZATIONS, SECTION, TARGETS, plan
from bench.ingest_throughput.profiling import profiled, summarize_profile
from bench.ingest_throughput.sending import encode, interleave, make_events, measure
from bench.server import Database, fresh_database, running_server


def _tenancy(db: Database) -> tuple[list[str], str]:
    orgs = [str(uuid.uuid4()) for _ in range(ORGANIZATIONS)]
    report = db.apply(
        {
            "organizations": [
                {"id": f"bench-{i}-{o[:8]}", "uuid": o, "name": f"Bench {i}"}
                for i, o in enumerate(orgs)
            ],
            "ingestKeys": [{"name": f"bench-{uuid.uuid4().hex[:8]}"}],
        }
    )
    return orgs, report["ingestKeys"][0]["key"]


def _cell(
    db: Database,
    orgs: list[str],
    key: str,
    batch: int,
    replay: bool,
    count: int,
    runs: int,
    workers: int = 1,
    profile_to: Path | None = None,
    **settings: str,
) -> dict[str, Any]:
    """Warm up, then ``runs`` timed runs of ``count`` events on a fresh server."""
    now = datetime.now(UTC)
    half = count // 2
    new_per_run = half if replay else count
    warmup = make_events(orgs, max(5 * batch, half if replay else 0), now)
    plans: list[tuple[list[bytes], int, int]] = []
    acknowledged = warmup
    for _ in range(runs + (1 if profile_to else 0)):
        new = make_events(orgs, new_per_run, now)
        if replay:
            replays = acknowledged[-half:]
            plans.append((encode(interleave(new, replays), batch), half, half))
        else:
            plans.append((encode(new, batch), count, 0))
        acknowledged = new
    results: list[dict[str, Any]] = []
    profile: dict[str, Any] = {}
    with running_server(db, workers=workers, **settings) as server:
        measure(server, key, encode(warmup, batch), db, len(warmup), 0)
        for bodies, expected_new, expected_dup in plans[:runs]:
            results.append(measure(server, key, bodies, db, expected_new, expected_dup))
        if profile_to is not None:
            bodies, expected_new, expected_dup = plans[runs]
            with profiled(server, profile_to):
                measure(server, key, bodies, db, expected_new, expected_dup)
            paths = [Path(f"{profile_to}.{pid}") for pid in server.pids()]
            profile = summarize_profile(paths)
        peak = server.peak_rss_bytes()
    return {
        "batch": batch,
        "replays": 0.5 if replay else 0.0,
        "workers": workers,
        "events_per_run": count,
        "runs": results,
        "median_events_per_s": statistics.median(r["events_per_s"] for r in results),
        "median_cpu_pct": statistics.median(r["server_cpu_pct"] for r in results),
        "median_cpu_us_per_event": statistics.median(r["cpu_us_per_event"] for r in results),
        "median_database_cpu_us_per_event": statistics.median(
            r["database_cpu_us_per_event"] for r in results
        ),
        "median_sender_cpu_us_per_event": statistics.median(
            r["sender_cpu_us_per_event"] for r in results
        ),
        "peak_rss_bytes": peak,
        "exact": all(r["exact"] for r in results),
        "profile": profile,
    }


def _targets(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ingestion issue's targets (batches of 1,000, no replays) for the summary."""
    targets: list[dict[str, Any]] = []
    for engine, rate in TARGETS.items():
        for cell in cells:
            if cell["engine"] == engine and cell["batch"] == 1000 and not cell["replays"]:
                measured = cell["median_events_per_s"]
                targets.append(
                    {
                        "section": SECTION,
                        "target": f"{engine}: ≥ {rate:,} events/s, batches of 1,000",
                        "measured": measured,
                        "minimum": float(rate),
                        "met": measured >= rate,
                    }
                )
    return targets


def run(quick: bool) -> dict[str, Any]:
    sizes = plan(quick)
    engines, skipped = w.engines()
    cells: list[dict[str, Any]] = []
    scale_out: list[dict[str, Any]] = []
    profiles: dict[str, Any] = {}
    profile_dir = Path(tempfile.mkdtemp(prefix="tb-ingest-profile-"))
    can_profile = bool(
        sizes["profile"]
        and (shutil.which("py-spy") or (Path(sys.executable).parent / "py-spy").exists())
    )
    try:
        for engine in engines:
            profile_to = profile_dir / engine if can_profile else None
            cells += _engine_cells(engine, sizes, profile_to)
            for cell in cells:
                if cell["engine"] == engine and cell["profile"]:
                    profiles[engine] = cell["profile"]
            if engine == "postgresql":
                scale_out += _scale_out(engine, sizes)
    finally:
        shutil.rmtree(profile_dir, ignore_errors=True)
    return {
        "quick": quick,
        "connections": CONNECTIONS,
        "organizations": ORGANIZATIONS,
        "skipped": skipped,
        "target_rates": TARGETS,
        "targets": _targets(cells),
        "cells": cells,
        "scale_out": scale_out,
        "profiles": profiles,
        "cpus": os.cpu_count(),
    }


def _engine_cells(
    engine: str, sizes: dict[str, Any], profile_to: Path | None
) -> list[dict[str, Any]]:
    """Batches of 100 and 1,000, without and with replays, on one database; the
    1,000-event cell without replays gets the profiled extra run."""
    cells: list[dict[str, Any]] = []
    with fresh_database(engine, name="ingest") as db:
        orgs, key = _tenancy(db)
        for batch in (100, 1000):
            for replay in (False, True):
                cell = _cell(
                    db,
                    orgs,
                    key,
                    batch,
                    replay,
                    sizes["events"][batch],
                    sizes["runs"],
                    profile_to=profile_to if batch == 1000 and not replay else None,
                )
                cell["engine"] = engine
                cells.append(cell)
    return cells


def _scale_out(engine: str, sizes: dict[str, Any]) -> list[dict[str, Any]]:
    """1, 2 and 4 server processes on one database each (batches of 1,000)."""
    cells: list[dict[str, Any]] = []
    for workers in sizes["scale_workers"]:
        with fresh_database(engine, name="ingest_scale") as db:
            orgs, key = _tenancy(db)
            cell = _cell(
                db,
                orgs,
                key,
                1000,
                False,
                sizes["scale_events"],
                sizes["runs"],
                workers=workers,
            )
            cell["engine"] = engine
            cells.append(cell)
    return cells
