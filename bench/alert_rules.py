"""Allowance alerts: their cost on the write paths, and the dispatcher's throughput.

In-process, one fresh database per engine, 10 organizations that all have allowances
and the default alert rule (thresholds 80 and 100, forecast on) -- allowances large
enough that nothing is crossed, so what is measured is the check every write pays.

- *ingest*: pairs of 1,000-event batches (in random order) through ``IngestService``
  with the rollup writer as shipped (*rules*: the detector reads the generation, then
  the touched months' totals) and the same writer without a detector (*baseline*).
- *flush*: the same pairing for the metering flush (``FlushStore.apply`` of 500 keys).
- *dispatcher*: ``Dispatcher.run_once`` rounds (as shipped, on uvloop like the server)
  draining deliveries to a local receiver in its own process (``bench.webhook_receiver``,
  answering 204), signatures included.
- *side by side*: the issue's "within 2 %" rows end to end -- ingest throughput and
  metered GraphQL throughput through real servers with rules on every organization
  against the same without rules, with an A/A control (``bench/alert_side_by_side.py``).
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

import uvloop
from sqlalchemy import insert, select

from bench import alert_side_by_side as side_by_side
from bench import workload as w
from bench.figure_ceiling import _body
from bench.server import fresh_database
from bench.webhook_receiver import running_receiver
from tallyboard.admin.applier import Applier
from tallyboard.admin.draft import read_document
from tallyboard.alerts.dispatcher import Dispatcher
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.ingest.service import IngestService
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.storage import alert_tables as at
from tallyboard.storage import tables as t
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter

SECTION = "alert_rules"
TITLE = "Allowance alerts: write-path cost and dispatcher throughput"
COMMAND = ".venv/bin/python -m bench --only alert_rules"
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ORGS = 10
DISPATCH_TARGET = 500


def _tenancy(database: Database, clock: FixedClock) -> list[str]:
    uuids = [str(uuid.uuid4()) for _ in range(ORGS)]
    allowances = {"apiCalls": 10**12, "integrationTasks": 10**12, "aiCredits": 10**7}
    document = {
        "organizations": [
            {
                "id": f"r{i}",
                "uuid": u,
                "name": f"Rules {i}",
                "settings": [{"allowances": allowances}],
            }
            for i, u in enumerate(uuids)
        ]
    }
    Applier(database, clock).apply(read_document(document))
    return uuids


def _paired(run: dict[str, Any], rounds: int, rng: random.Random) -> dict[str, Any]:
    """Median per-item CPU and wall µs of each side, and the median paired difference."""
    cpu: dict[str, list[float]] = {"rules": [], "baseline": []}
    wall: dict[str, list[float]] = {"rules": [], "baseline": []}
    for index in range(rounds + 2):
        for name in rng.sample(["rules", "baseline"], 2):
            c0, w0 = time.process_time(), time.perf_counter()
            items = run[name]()
            c1, w1 = time.process_time(), time.perf_counter()
            if index >= 2:  # warm-up pairs
                cpu[name].append((c1 - c0) * 1e6 / items)
                wall[name].append((w1 - w0) * 1e6 / items)
    pairs = list(zip(wall["rules"], wall["baseline"], strict=True))
    cpu_pairs = list(zip(cpu["rules"], cpu["baseline"], strict=True))
    return {
        "rounds": rounds,
        "cpu_us": {k: statistics.median(v) for k, v in cpu.items()},
        "wall_us": {k: statistics.median(v) for k, v in wall.items()},
        "cpu_delta_us": statistics.median(a - b for a, b in cpu_pairs),
        "wall_delta_us": statistics.median(a - b for a, b in pairs),
    }


def _writes(engine: str, rounds: int, size: int) -> dict[str, Any]:
    with fresh_database(engine, "alerts") as fresh:
        database = Database(fresh.sqlalchemy_url())
        clock = FixedClock(NOW)
        orgs = _tenancy(database, clock)
        settings = Settings(database_url=database.url)
        store = EventStore(database)
        cap = settings.operation_name_cap
        writers = {
            "rules": RollupWriter(database.dialect, cap, AlertDetector(clock)),
            "baseline": RollupWriter(database.dialect, cap),
        }
        ingest = {
            name: IngestService(database, store, writer, clock, Metrics(), settings)
            for name, writer in writers.items()
        }
        rng, serial = random.Random(11), [0]

        def batch(name: str) -> int:
            result = ingest[name].ingest(
                _body(orgs, rng, size, serial), ndjson=True, bound_org_pk=None
            )
            assert result.accepted == size
            return size

        with database.read() as conn:
            pks = list(conn.execute(select(t.organizations.c.pk)).scalars())
        flushes = {name: FlushStore(database, writer) for name, writer in writers.items()}

        def flush(name: str) -> int:
            deltas = RollupDeltas()
            for key in range(500):
                day = date(2026, 11, 1 + key % 20)
                deltas.add_api_calls((pks[key % len(pks)], day, f"Op{key % 40}", "bot"), 1)
            assert flushes[name].apply(str(uuid.uuid4()), deltas, applied_at_ms=1).applied
            return 500

        result = {
            "ingest": _paired({n: (lambda n=n: batch(n)) for n in writers}, rounds, rng),
            "flush": _paired({n: (lambda n=n: flush(n)) for n in writers}, rounds, rng),
            "batch_size": size,
        }
        database.dispose()
    return result


def _seed(database: Database, clock: FixedClock, url: str, deliveries: int) -> None:
    """``deliveries`` pending deliveries of distinct alerts to one webhook at ``url``."""
    _tenancy(database, clock)
    Applier(database, clock, allow_private_webhooks=True).apply(
        read_document({"webhooks": [{"name": "bench", "url": url}]})
    )
    with database.write() as conn:
        org_pk = conn.execute(select(t.organizations.c.pk)).scalars().first()
        hook = conn.execute(select(at.webhooks.c.pk)).scalar_one()
        for i in range(deliveries):
            alert = conn.execute(
                insert(at.usage_alerts).values(
                    id=str(uuid.uuid4()),
                    type="usage.threshold_crossed",
                    org_pk=org_pk,
                    resource="apiCalls",
                    month=f"{1000 + i // 1000:04d}-01",
                    level=1 + i % 1000,
                    threshold=1,
                    usage=1,
                    allowance=1,
                    created_at=0,
                    crossed_at=0,
                    body='{"type":"usage.threshold_crossed"}',
                )
            ).inserted_primary_key
            assert alert is not None
            conn.execute(
                insert(at.webhook_deliveries).values(
                    alert_pk=alert[0],
                    webhook_pk=hook,
                    status="pending",
                    attempts=0,
                    next_attempt_at=0,
                )
            )


def _dispatch(engine: str, deliveries: int) -> dict[str, Any]:
    """Drain ``deliveries`` with the dispatcher as shipped (batch, lanes), on uvloop like
    the server, to a receiver in its own process; wall time and this process's CPU."""
    with fresh_database(engine, "dispatch") as fresh, running_receiver() as receiver:
        database = Database(fresh.sqlalchemy_url())
        clock = FixedClock(NOW)
        _seed(database, clock, receiver.url, deliveries)
        metrics = Metrics()
        dispatcher = Dispatcher(
            database,
            clock,
            metrics,
            AlertDetector(clock),
            timeout=10,
            delays=(5,),
            allow_private=True,
        )

        async def measure() -> tuple[float, float]:
            await dispatcher.start_client()
            cpu, start = time.process_time(), time.perf_counter()
            sent = 0
            while sent < deliveries:
                sent += await dispatcher.run_once()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
            await dispatcher.stop()
            return elapsed, cpu

        elapsed, cpu = uvloop.run(measure())
        database.dispose()
    delivered = int(metrics.webhook_deliveries.labels(outcome="delivered")._value.get())
    if delivered != deliveries or receiver.answered != deliveries:
        raise RuntimeError(
            f"expected {deliveries} deliveries, recorded {delivered}, received {receiver.answered}"
        )
    return {
        "deliveries": deliveries,
        "seconds": elapsed,
        "per_second": deliveries / elapsed,
        "cpu_us_per_delivery": 1e6 * cpu / deliveries,
        "delivered": delivered,
    }


def run(quick: bool) -> dict[str, Any]:
    rounds, size, deliveries = (3, 200, 200) if quick else (30, 1_000, 3_000)
    load_before = os.getloadavg()[0]
    engines = {
        engine: {**_writes(engine, rounds, size), "dispatcher": _dispatch(engine, deliveries)}
        for engine in ("sqlite", "postgresql")
    }
    # End to end: PostgreSQL's ingest too at full size (quick proves the path on SQLite).
    e2e_engines = ["sqlite"] if quick else w.engines()[0]
    side = side_by_side.run(quick, e2e_engines)
    dispatch_targets = [
        {
            "section": SECTION,
            "target": f"dispatcher, {engine}: ≥ {DISPATCH_TARGET} deliveries/s to a local receiver",
            "measured": data["dispatcher"]["per_second"],
            "minimum": float(DISPATCH_TARGET),
            "met": data["dispatcher"]["per_second"] >= DISPATCH_TARGET,
        }
        for engine, data in engines.items()
    ]
    return {
        "quick": quick,
        "engines": engines,
        "side_by_side": side,
        "targets": side["targets"] + dispatch_targets,
        "load": [load_before, os.getloadavg()[0]],
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "Every organization has allowances and the default rule; nothing is crossed, so "
        "this is the check each write pays. Pairs in random order, medians per item "
        "(event or metering key); *paired Δ* is the median of the per-pair differences.",
        "",
        "| engine | path | rounds × items | wall-µs rules | wall-µs baseline | paired Δ wall | "
        "Δ / baseline | CPU-µs rules | CPU-µs baseline |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, data in results["engines"].items():
        for path, items in (("ingest", data["batch_size"]), ("flush", 500)):
            d = data[path]
            wall, cpu = d["wall_us"], d["cpu_us"]
            lines.append(
                f"| {engine} | {path} | 2 × {d['rounds']} × {items:,} | {wall['rules']:.2f} | "
                f"{wall['baseline']:.2f} | {d['wall_delta_us']:+.2f} | "
                f"{d['wall_delta_us'] / wall['baseline']:+.1%} | {cpu['rules']:.2f} | "
                f"{cpu['baseline']:.2f} |"
            )
    lines += [
        "",
        "Ingest pays one statement per batch (the touched months' totals with the tenancy "
        "generation), amortized over its events. A metering flush pays the same statement "
        "over fewer items: about 1.5 µs per key, under a millisecond per flush, and a "
        "process flushes once a second -- well under 0.1 % of a core. The side-by-side "
        "table below measures both end to end.",
        "",
    ]
    lines += _dispatcher_lines(results)
    if "side_by_side" in results:
        lines += ["", *side_by_side.render(results["side_by_side"])]
    if "load" in results:
        before, after = results["load"]
        lines += [
            "",
            f"The machine's 1-minute load average was {before:.1f} before this section and "
            f"{after:.1f} after it (2 cores, shared): above 2, every figure here is "
            "inflated by waiting for a core, the paired differences least.",
        ]
    lines += [
        "",
        "The dispatcher posts a round's claims through 16 lanes (one keep-alive client "
        "each) and records them in one transaction "
        "([decision 0019](decisions/0019-webhook-delivery-guarantee.md)).",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)


def _dispatcher_lines(results: dict[str, Any]) -> list[str]:
    lines = [
        "Dispatcher: deliveries drained by `Dispatcher.run_once` rounds as shipped (200 "
        "claimed a round, 16 lanes), on uvloop like the server, to a receiver in its own "
        "process answering 204; CPU is the dispatcher process's (its database threads "
        "included, not PostgreSQL's).",
        "",
        "| engine | deliveries | seconds | deliveries/s | CPU µs/delivery |",
        "|---|---:|---:|---:|---:|",
    ]
    for engine, data in results["engines"].items():
        d = data["dispatcher"]
        cpu = d.get("cpu_us_per_delivery")
        lines.append(
            f"| {engine} | {d['deliveries']:,} | {d['seconds']:.2f} | {d['per_second']:,.0f} | "
            f"{'–' if cpu is None else f'{cpu:,.0f}'} |"
        )
    return lines
