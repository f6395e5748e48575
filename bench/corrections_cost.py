"""Section 11's costs: ``verify`` throughput and the cost of a void.

In-process, one fresh database per engine: 10 organizations receive mixed events
(60% API calls, 20% task runs, 20% credits) over three months through the backfill
path, then ``Verifier.verify`` recomputes every organization-month from the ledger
(reported: ledger rows and organization-months per second), then single-entry voids
are timed one by one through ``CorrectionService.correct`` (reported: median and p99,
milliseconds, the whole transaction: find, claim, subtract, last run, checks, audit).
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.server import fresh_database
from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.components import build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings

SECTION = "corrections_cost"
TITLE = "Corrections: verify throughput and the cost of a void"
COMMAND = ".venv/bin/python -m bench --only corrections_cost"
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ORGS = 10


def _events(orgs: list[str], count: int, rng: random.Random) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(count):
        at = NOW - timedelta(minutes=rng.randrange(0, 80 * 24 * 60))
        base = {
            "id": f"e{n}",
            "source": "bench",
            "organization": orgs[n % len(orgs)],
            "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        roll = rng.random()
        if roll < 0.6:
            data: dict[str, Any] = {
                "operationName": f"Op{rng.randrange(20)}",
                "tokenName": f"token-{rng.randrange(5)}",
                "count": 1 + rng.randrange(3),
            }
            events.append({**base, "type": "api.call", "data": data})
        elif roll < 0.8:
            data = {"flowId": f"flow-{rng.randrange(30)}", "tasks": rng.randrange(10)}
            events.append({**base, "type": "integration.task", "data": data})
        else:
            data = {"resource": "ai_automation", "agentId": f"agt-{rng.randrange(8)}", "credits": 1}
            events.append({**base, "type": "ai.credit", "data": data})
    return events


def _measure(engine: str, count: int, voids: int) -> dict[str, Any]:
    rng = random.Random(11)
    with fresh_database(engine, "corrections") as database:
        components = build_components(Settings(database_url=database.url), clock=FixedClock(NOW))
        try:
            orgs = [str(uuid.uuid4()) for _ in range(ORGS)]
            document = {
                "organizations": [
                    {"id": f"o{i}", "uuid": org, "name": f"Org {i}"} for i, org in enumerate(orgs)
                ]
            }
            Applier(components.database, components.clock).apply(parse_document(document))
            events = _events(orgs, count, rng)
            for start in range(0, len(events), 1000):
                batch = events[start : start + 1000]
                components.ingest.ingest_events(batch, bound_org_pk=None, backfill=True)
            verifier = components.verifier
            targets = verifier.targets(None, None)
            started = time.perf_counter()
            found = verifier.verify(targets)
            verify_seconds = time.perf_counter() - started
            timings: list[float] = []
            for event in rng.sample(events, voids):
                entry = {
                    "action": "void",
                    "organization": event["organization"],
                    "source": event["source"],
                    "id": event["id"],
                    "reason": "bench",
                }
                started = time.perf_counter()
                components.corrections.correct([entry])
                timings.append((time.perf_counter() - started) * 1000)
        finally:
            components.close()
    timings.sort()
    return {
        "events": count,
        "org_months": len(targets),
        "differences": len(found.differences),
        "verify_seconds": verify_seconds,
        "rows_per_second": count / verify_seconds,
        "org_months_per_second": len(targets) / verify_seconds,
        "voids": voids,
        "void_ms_p50": statistics.median(timings),
        "void_ms_p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
    }


def run(quick: bool) -> dict[str, Any]:
    count, voids = (2_000, 20) if quick else (200_000, 300)
    return {
        "quick": quick,
        "engines": {engine: _measure(engine, count, voids) for engine in ("sqlite", "postgresql")},
    }


def render(results: dict[str, Any]) -> str:
    lines = [
        "`Verifier.verify` over every organization-month of 10 organizations (three "
        "months of mixed events sent through the backfill path), then single-entry "
        "voids through `CorrectionService.correct`, one transaction each.",
        "",
        "| engine | ledger rows | org-months | verify s | rows/s | org-months/s "
        "| differences | void p50 ms | void p99 ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, r in results["engines"].items():
        lines.append(
            f"| {engine} | {r['events']:,} | {r['org_months']} | {r['verify_seconds']:.2f} "
            f"| {r['rows_per_second']:,.0f} | {r['org_months_per_second']:.1f} "
            f"| {r['differences']} | {r['void_ms_p50']:.2f} | {r['void_ms_p99']:.2f} |"
        )
    lines += [
        "",
        "Verification streams each month's ledger and folds it in batches: its memory "
        "follows the distinct figures of a month, not its rows, so rows/s is what scales "
        "to 10M events (about 10M / rows/s seconds on this machine; not run at that size "
        "here). A void reads its event by key and, for a task run that was its flow's "
        "latest, scans that flow's day and month newest first "
        "([decision 0020](decisions/0020-ledger-verification-closed-months.md)).",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)
