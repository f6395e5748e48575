"""Section 11's costs: ``verify`` throughput at 10M ledger rows and the cost of a void.

In-process, one fresh database per engine, both filled from the same generated chunks
(``bench/ledger_data.py``: 50 organizations, three months, events of every kind --
automation jobs included -- plus adjustments and metering-flush records, written in
bulk with their matching rollups; the generation time is reported). Then
``Verifier.verify`` recomputes every organization-month from the ledger (reported:
ledger rows and organization-months per second, and the peak RSS of the verifying
process, its high-water mark reset just before), then single-entry voids are timed one
by one through ``CorrectionService.correct`` (median and p99, milliseconds, the whole
transaction: find, claim, subtract, last run, checks, audit).

Size knob: ``BENCH_LEDGER_ROWS`` (default 10,000,000; ``--quick`` 20,000).
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from bench.ledger_bulk import BulkTarget
from bench.ledger_data import SOURCE, LedgerGenerator
from bench.proc_memory import reset_peak, status_bytes
from bench.server import fresh_database, postgres_available
from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.event_time import epoch_ms
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.settings import Settings

SECTION = "corrections_cost"
TITLE = "Corrections: verify throughput and the cost of a void"
COMMAND = ".venv/bin/python -m bench --only corrections_cost"
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
SPAN = timedelta(days=80)
ROWS = 10_000_000
QUICK_ROWS = 20_000
ORGS = 50
VOIDS = 300
ENGINES = ("sqlite", "postgresql")


def _organizations(components: Components, orgs: list[str]) -> list[int]:
    document = {
        "organizations": [
            {"id": f"o{i}", "uuid": org, "name": f"Org {i}"} for i, org in enumerate(orgs)
        ]
    }
    Applier(components.database, components.clock).apply(parse_document(document))
    with components.database.read() as conn:
        pks: dict[str, int] = dict(
            conn.execute(text("SELECT uuid, pk FROM organizations")).tuples().all()
        )
    return [int(pks[org]) for org in orgs]


def _populate(
    everything: dict[str, Components], rows: int, voids: int, cap: int
) -> tuple[LedgerGenerator, dict[str, Any], list[str]]:
    orgs = [str(uuid.uuid4()) for _ in range(min(ORGS, max(2, rows // 2000)))]
    pk_lists = {engine: _organizations(c, orgs) for engine, c in everything.items()}
    pks = next(iter(pk_lists.values()))
    if any(found != pks for found in pk_lists.values()):
        raise RuntimeError("the engines gave the organizations different keys")
    targets = [BulkTarget(c.database, cap) for c in everything.values()]
    start, end = epoch_ms(NOW - SPAN), epoch_ms(NOW - timedelta(minutes=1))
    generator = LedgerGenerator(pks, rows, start, end, voids=voids)

    def month_done(deltas: RollupDeltas) -> None:
        for target in targets:
            target.write_rollups(deltas)

    started = time.perf_counter()
    for chunk in generator.chunks(month_done):
        for target in targets:
            target.write(chunk)
    for target in targets:
        target.finish()
    for target in targets:
        target.wait()
    generation = {
        "organizations": len(orgs),
        "seconds": time.perf_counter() - started,
        "write_seconds": {t.engine: t.seconds for t in targets},
        **generator.counts,
    }
    return generator, generation, orgs


def _verify(components: Components) -> dict[str, Any]:
    verifier = components.verifier
    targets = verifier.targets(None, None)
    baseline = status_bytes("VmRSS")
    resettable = reset_peak()
    started, cpu = time.perf_counter(), time.process_time()
    found = verifier.verify(targets)
    seconds = time.perf_counter() - started
    peak = status_bytes("VmHWM") if resettable else 0
    return {
        "org_months": len(targets) - len(found.unverifiable),
        "differences": len(found.differences),
        "verify_seconds": seconds,
        "verify_cpu_seconds": time.process_time() - cpu,
        "rss_before_bytes": baseline,
        "peak_rss_bytes": peak,
    }


def _void_timings(
    components: Components, generator: LedgerGenerator, orgs: list[str]
) -> list[float]:
    by_pk = dict(zip(generator.org_pks, orgs, strict=True))
    timings: list[float] = []
    for org_pk, event_id in generator.voided:
        entry = {
            "action": "void",
            "organization": by_pk[org_pk],
            "source": SOURCE,
            "id": event_id,
            "reason": "bench",
        }
        started = time.perf_counter()
        result = components.corrections.correct([entry])
        timings.append((time.perf_counter() - started) * 1000)
        if result.rejected:
            raise RuntimeError(f"void rejected: {result.as_json()}")
    return sorted(timings)


def _measure(rows: int, voids: int) -> dict[str, Any]:
    engines = [e for e in ENGINES if e == "sqlite" or postgres_available()]
    with ExitStack() as stack:
        everything: dict[str, Components] = {}
        cap = Settings().operation_name_cap
        for engine in engines:
            database = stack.enter_context(fresh_database(engine, "corrections"))
            settings = Settings(database_url=database.url)
            components = build_components(settings, clock=FixedClock(NOW))
            stack.callback(components.close)
            everything[engine] = components
        generator, generation, orgs = _populate(everything, rows, voids, cap)
        ledger_rows = sum(generator.counts.values())
        results: dict[str, Any] = {}
        for engine, components in everything.items():
            measured = _verify(components)
            timings = _void_timings(components, generator, orgs)
            seconds = measured["verify_seconds"]
            results[engine] = {
                **measured,
                "ledger_rows": ledger_rows,
                "rows_per_second": ledger_rows / seconds,
                "org_months_per_second": measured["org_months"] / seconds,
                "voids": len(timings),
                "void_ms_p50": statistics.median(timings),
                "void_ms_p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
                "write_seconds": generation["write_seconds"][engine],
            }
    return {"generation": generation, "engines": results}


def run(quick: bool) -> dict[str, Any]:
    rows = QUICK_ROWS if quick else int(os.environ.get("BENCH_LEDGER_ROWS", ROWS))
    voids = min(VOIDS, max(20, rows // 1000))
    started = time.perf_counter()
    measured = _measure(rows, voids)
    return {"quick": quick, "rows": rows, **measured, "seconds": time.perf_counter() - started}


def _intro(results: dict[str, Any]) -> str:
    generation = results.get("generation")
    if generation is None:  # recorded by the earlier version of this section
        return (
            "`Verifier.verify` over every organization-month of 10 organizations (events "
            "sent through the backfill path; recorded before the bulk ledger generator: "
            "rerun the section for the 10M-row figures), then single-entry voids."
        )
    return (
        f"`Verifier.verify` over every organization-month of {results['rows']:,} ledger rows "
        f"({generation['organizations']} organizations, three months; events of every kind "
        "incl. automation jobs, adjustments and metering-flush records, written in bulk "
        "with their rollups), then single-entry voids through `CorrectionService.correct`, "
        "one transaction each, on that ledger."
    )


def _notes(results: dict[str, Any]) -> str:
    generation = results.get("generation")
    text = ""
    if generation is not None:
        writes = ", ".join(
            f"{engine} {r['write_seconds']:.0f} s" for engine, r in results["engines"].items()
        )
        text = (
            f"Generating the ledger took {generation['seconds']:.0f} s in all (writing: "
            f"{writes}); the whole section {results['seconds']:.0f} s. Peak RSS is the "
            "verifying process's high-water mark, reset just before `verify`; the growth "
            "is above the process's RSS before it (the generator's leftovers; SQLite's "
            "page cache is up to 64 MiB). "
        )
    return text + (
        "Verification reads each organization-month's events by `(org_pk, time_ms)` and "
        "folds them in batches: its memory follows the distinct figures of a month, not "
        "its rows. A void reads its event by key and, for a task run that was its flow's "
        "latest, scans that flow's day and month newest first "
        "([decision 0020](decisions/0020-ledger-verification-closed-months.md))."
    )


def render(results: dict[str, Any]) -> str:
    lines = [
        _intro(results),
        "",
        "| engine | ledger rows | org-months | verify s (CPU s) | rows/s | org-months/s "
        "| peak RSS MiB (growth) | differences | void p50 ms | void p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, found in results["engines"].items():
        # Records from before the generator lack some fields.
        r = {"ledger_rows": found.get("events", 0), "peak_rss_bytes": 0, "rss_before_bytes": 0}
        r |= {"verify_cpu_seconds": found["verify_seconds"], **found}
        growth = max(0, r["peak_rss_bytes"] - r["rss_before_bytes"])
        lines.append(
            f"| {engine} | {r['ledger_rows']:,} | {r['org_months']} "
            f"| {r['verify_seconds']:.2f} ({r['verify_cpu_seconds']:.2f}) "
            f"| {r['rows_per_second']:,.0f} | {r['org_months_per_second']:.1f} "
            f"| {r['peak_rss_bytes'] / 2**20:,.0f} (+{growth / 2**20:,.0f}) | {r['differences']} "
            f"| {r['void_ms_p50']:.2f} | {r['void_ms_p99']:.2f} |"
        )
    lines += [
        "",
        _notes(results),
        "",
        f"Reproduce: `{COMMAND}` (smaller: `BENCH_LEDGER_ROWS=1000000 {COMMAND}`)",
    ]
    return "\n".join(lines)
