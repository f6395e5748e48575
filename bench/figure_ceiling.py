"""The figure ceiling's cost on the ingest hot path (decision 0012).

In-process, one fresh database per engine: ``IngestService.ingest`` takes batches of
1,000 mixed events (60% API calls, 20% task runs, 20% credits) over 10 organizations
and 20 days, in pairs (in random order) of one batch through the rollup writer as
shipped and one through the same writer without the monthly totals (the baseline: no
fold, no upsert, no CHECK), so both see the same database and the same machine at the
same moments. Reported: CPU-µs
and wall-µs per event of each (medians), the paired difference and the ratio, and the
guard's own step timed directly (fold of the monthly totals + their upsert). The CPU is
this process's: the server's Python and, for SQLite, the engine itself; PostgreSQL's
backend shows in the wall time only.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from bench.server import fresh_database
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import MonthKey, RollupDeltas
from tallyboard.ingest.service import IngestService
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.rollup_writer import RollupWriter

SECTION = "figure_ceiling"
TITLE = "Ingest: the figure ceiling's cost"
COMMAND = ".venv/bin/python -m bench --only figure_ceiling"
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ORGS = 10


class _Unguarded(RollupWriter):
    """The baseline: every rollup as shipped, without the monthly totals."""

    def _add_totals(self, conn: Connection, deltas: RollupDeltas) -> dict[MonthKey, list[int]]:
        return {}


class _Timed(RollupWriter):
    """As shipped, timing the guard's step (fold + upsert) on the side."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cpu = 0.0
        self.wall = 0.0

    def _add_totals(self, conn: Connection, deltas: RollupDeltas) -> dict[MonthKey, list[int]]:
        cpu, wall = time.process_time(), time.perf_counter()
        totals = super()._add_totals(conn, deltas)
        self.cpu += time.process_time() - cpu
        self.wall += time.perf_counter() - wall
        return totals


def _body(orgs: list[str], rng: random.Random, size: int, serial: list[int]) -> bytes:
    lines = []
    for _ in range(size):
        serial[0] += 1
        at = NOW - timedelta(seconds=rng.randint(0, 86_400 * 20))
        event: dict[str, Any] = {
            "id": f"e{serial[0]}",
            "source": "bench",
            "organization": rng.choice(orgs),
            "time": at.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        }
        kind = rng.random()
        if kind < 0.6:
            event["type"] = "api.call"
            event["data"] = {
                "operationName": f"Op{rng.randint(0, 40)}",
                "tokenName": f"token-{rng.randint(0, 5)}",
                "count": rng.randint(1, 5),
            }
        elif kind < 0.8:
            event["type"] = "integration.task"
            event["data"] = {"flowId": f"flow-{rng.randint(0, 30)}", "tasks": 3}
        else:
            event["type"] = "ai.credit"
            event["data"] = {
                "resource": "ai_automation",
                "agentId": f"agt-{rng.randint(0, 10)}",
                "credits": round(rng.random() * 5, 2),
            }
        lines.append(orjson.dumps(event))
    return b"\n".join(lines)


def _measure(engine: str, batches: int, size: int) -> dict[str, Any]:
    with fresh_database(engine, "guard") as fresh:
        database = Database(fresh.sqlalchemy_url())
        orgs = [str(uuid.uuid4()) for _ in range(ORGS)]
        with database.write() as conn:
            for i, org in enumerate(orgs):
                conn.execute(
                    t.organizations.insert().values(
                        id=f"g{i}", uuid=org, name=f"Guard {i}", created_at=0
                    )
                )
        settings = Settings(database_url=database.url)
        store = EventStore(database)
        timed = _Timed(database.dialect, settings.operation_name_cap)
        services = {
            "guarded": IngestService(database, store, timed, FixedClock(NOW), Metrics(), settings),
            "baseline": IngestService(
                database,
                store,
                _Unguarded(database.dialect, settings.operation_name_cap),
                FixedClock(NOW),
                Metrics(),
                settings,
            ),
        }
        rng, serial = random.Random(7), [0]
        warmup = 2
        cpu: dict[str, list[float]] = {"guarded": [], "baseline": []}
        wall: dict[str, list[float]] = {"guarded": [], "baseline": []}
        for pair in range(warmup + batches):
            if pair == warmup:
                timed.cpu = timed.wall = 0.0
            # A pair in random order: periodic costs (SQLite's WAL checkpoint every few
            # batches, the garbage collector) must not always land on the same side.
            for name in rng.sample(["guarded", "baseline"], 2):
                body = _body(orgs, rng, size, serial)
                c0, w0 = time.process_time(), time.perf_counter()
                result = services[name].ingest(body, ndjson=True, bound_org_pk=None)
                c1, w1 = time.process_time(), time.perf_counter()
                if result.accepted != size:
                    raise RuntimeError(f"{engine}: {result.as_json()}")
                if pair >= warmup:
                    cpu[name].append((c1 - c0) * 1e6 / size)
                    wall[name].append((w1 - w0) * 1e6 / size)
        database.dispose()
    per_event = batches * size
    return {
        "batches_each": batches,
        "batch_size": size,
        "cpu_us": {k: statistics.median(v) for k, v in cpu.items()},
        "wall_us": {k: statistics.median(v) for k, v in wall.items()},
        "cpu_delta_us": statistics.median(
            a - b for a, b in zip(cpu["guarded"], cpu["baseline"], strict=True)
        ),
        "wall_delta_us": statistics.median(
            a - b for a, b in zip(wall["guarded"], wall["baseline"], strict=True)
        ),
        "guard_step_cpu_us": timed.cpu * 1e6 / per_event,
        "guard_step_wall_us": timed.wall * 1e6 / per_event,
    }


def run(quick: bool) -> dict[str, Any]:
    batches, size = (3, 200) if quick else (100, 1_000)
    return {
        "quick": quick,
        "engines": {engine: _measure(engine, batches, size) for engine in ("sqlite", "postgresql")},
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "`IngestService.ingest` in-process, pairs of batches (in random order) through the "
        "writer as shipped (*guarded*: monthly totals folded and upserted under their CHECK "
        "constraints) and the same writer without them (*baseline*); medians per event. "
        "*Paired Δ* is the median of the per-pair differences (the figure to read: the "
        "medians themselves move with the shared machine's load); *guard step* is the "
        "fold and the upsert timed on their own.",
        "",
        "| engine | batches × events | CPU-µs guarded | CPU-µs baseline | paired Δ CPU | "
        "Δ / baseline | wall-µs guarded | wall-µs baseline | paired Δ wall | "
        "guard step CPU / wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, data in results["engines"].items():
        cpu, wall = data["cpu_us"], data["wall_us"]
        lines.append(
            f"| {engine} | 2 × {data['batches_each']} × {data['batch_size']:,} | "
            f"{cpu['guarded']:.1f} | {cpu['baseline']:.1f} | {data['cpu_delta_us']:+.2f} | "
            f"{data['cpu_delta_us'] / cpu['baseline']:+.1%} | {wall['guarded']:.1f} | "
            f"{wall['baseline']:.1f} | {data['wall_delta_us']:+.2f} | "
            f"{data['guard_step_cpu_us']:.2f} / {data['guard_step_wall_us']:.2f} µs |"
        )
    lines += [
        "",
        "The guard reads nothing: the totals' CHECK constraints refuse a write past the "
        "ceiling, and only a refused batch is written again "
        "([decision 0012](decisions/0012-counts-beyond-32-bits.md)).",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)
