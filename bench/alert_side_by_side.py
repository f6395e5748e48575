"""Allowance alerts end to end: the issue's "within 2 %" rows, side by side in one run.

Three real ``tallyboard serve`` processes, each on its own fresh database with the same
tenancy (every organization has allowances and the same webhook), differing only in
the instance alert rule: *rules* has the built-in one (thresholds 80 and 100, forecast
on) made explicit, *none* and *control* have ``{thresholds: [], forecast: false}``, so
their organizations are out of the detector's plan (as with no rule at all). *control*
is configured exactly like *none*: its difference from *none* is the noise floor of the
comparison (an A/A test). Allowances are large enough that nothing is crossed, so what
is measured is the check every write pays.

- *ingest*: per round, the same pre-encoded batches of 1,000 new events (identical
  bodies for the three servers) through ``bench.ingest_throughput``'s sender process,
  every run checked for exactness; the order of the servers rotates round by round.
- *metering*: ``apiUsageStats`` under load by ``bench.loadgen`` on three servers with
  self-metering on (the flusher writes the billed calls once a second, through the
  detector on *rules*), rotating like the metering-overhead section.

Losses are medians of the per-round ``1 - measured / none`` figures.
"""

from __future__ import annotations

import statistics
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import Any, TypeVar

from bench import workload as w
from bench.ingest_throughput.sending import encode, make_events, measure
from bench.server import Database, Server, fresh_database, running_server

T = TypeVar("T")
VARIANTS = ("rules", "none", "control")
RULES_ON = {"thresholds": [80, 100], "forecast": True}
RULES_OFF = {"thresholds": [], "forecast": False}
ALLOWANCES = {"apiCalls": 10**12, "integrationTasks": 10**12, "aiCredits": 10**7}
TARGET_LOSS = 0.02
ORGS = 10
BATCH = 1000
PRIVATE = {"webhook_allow_private": "true"}


def plan(quick: bool) -> dict[str, Any]:
    """Run lengths: the whole comparison stays within a few minutes at full size."""
    if quick:
        return {"ingest_rounds": 1, "ingest_events": 2_000, "metering": w.settings_for(True)}
    metering = {**w.settings_for(False), "rounds": 5, "duration": 3.0}
    return {"ingest_rounds": 7, "ingest_events": 40_000, "metering": metering}


def _rules(on: bool) -> dict[str, Any]:
    """The instance rule and one webhook (never posted to: nothing is crossed)."""
    return {
        "alerts": RULES_ON if on else RULES_OFF,
        "webhooks": [{"name": "bench", "url": "http://127.0.0.1:9/bench"}],
    }


def _losses(runs: dict[str, list[dict[str, Any]]], key: str, higher_is_better: bool) -> Any:
    """Per round, rules and control against none: the loss (positive = worse)."""

    def loss(a: float, b: float) -> float:
        return (1 - a / b) if higher_is_better else (a / b - 1)

    out: dict[str, Any] = {}
    for side in ("rules", "control"):
        per_round = [
            loss(a[key], b[key]) for a, b in zip(runs[side], runs["none"], strict=True) if b[key]
        ]
        out[side] = {
            "per_round": [round(x, 4) for x in per_round],
            "median": round(statistics.median(per_round), 4) if per_round else 0.0,
        }
    return out


def _rotate(rounds: int, once: Callable[[str, int], dict[str, Any]]) -> dict[str, list[Any]]:
    """``rounds`` rounds of every variant, rotating who goes first."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for i in range(rounds):
        for variant in VARIANTS[i % 3 :] + VARIANTS[: i % 3]:
            runs[variant].append(once(variant, i))
    return runs


def _sides(stack: ExitStack, build: Callable[[str, ExitStack], T]) -> dict[str, T]:
    """``build`` every variant at once (databases and servers are started by separate
    processes, so the three set-ups overlap); what they started closes with ``stack``."""
    inner = {v: ExitStack() for v in VARIANTS}
    with ThreadPoolExecutor(len(VARIANTS)) as pool:
        futures = {v: pool.submit(build, v, inner[v]) for v in VARIANTS}
        done = {v: f.exception() is None for v, f in futures.items()}
    for variant in VARIANTS:
        stack.enter_context(inner[variant])
    if not all(done.values()):
        raise next(e for f in futures.values() if (e := f.exception()) is not None)
    return {v: f.result() for v, f in futures.items()}


def _ingest_side(
    stack: ExitStack, engine: str, orgs: list[str], on: bool
) -> tuple[Database, str, Server]:
    """A fresh database with the organizations, an ingest key and the rule; its server."""
    db = stack.enter_context(fresh_database(engine, "alerts_e2e"))
    document = {
        "organizations": [
            {"id": f"e{i}", "uuid": u, "name": f"Org {i}", "settings": [{"allowances": ALLOWANCES}]}
            for i, u in enumerate(orgs)
        ],
        "ingestKeys": [{"name": "bench"}],
        **_rules(on),
    }
    key = db.apply(document, TALLYBOARD_WEBHOOK_ALLOW_PRIVATE="true")["ingestKeys"][0]["key"]
    return db, key, stack.enter_context(running_server(db, 1, **PRIVATE))


def ingest(engine: str, quick: bool) -> dict[str, Any]:
    """Ingest throughput (batches of 1,000) with rules on every organization vs none."""
    cfg = plan(quick)
    count, rounds = cfg["ingest_events"], cfg["ingest_rounds"]
    orgs = [str(uuid.uuid4()) for _ in range(ORGS)]
    now = datetime.now(UTC)
    with ExitStack() as stack:
        sides = _sides(stack, lambda v, inner: _ingest_side(inner, engine, orgs, v == "rules"))
        if not quick:  # warm the servers up (quick only proves the path)
            warmup = encode(make_events(orgs, 5 * BATCH, now), BATCH)
            for db, key, server in sides.values():
                measure(server, key, warmup, db, 5 * BATCH, 0)
        bodies = [encode(make_events(orgs, count, now), BATCH) for _ in range(rounds)]

        def once(variant: str, index: int) -> dict[str, Any]:
            db, key, server = sides[variant]
            return measure(server, key, bodies[index], db, count, 0)

        runs = _rotate(rounds, once)
    return {
        "events_per_run": count,
        "rounds": rounds,
        "events_per_s": {v: statistics.median(r["events_per_s"] for r in runs[v]) for v in runs},
        "cpu_us_per_event": {
            v: statistics.median(r["cpu_us_per_event"] for r in runs[v]) for v in runs
        },
        "loss": _losses(runs, "events_per_s", higher_is_better=True),
        "cpu_loss": _losses(runs, "cpu_us_per_event", higher_is_better=False),
        "exact": True,  # measure() raises otherwise
    }


def _metering_side(stack: ExitStack, on: bool, quick: bool) -> tuple[Server, bytes, str]:
    """A fresh database with the GraphQL workload and the rule; its metered server."""
    db = stack.enter_context(fresh_database("sqlite", "alerts_metering"))
    work = w.prepare(db, quick, _rules(on))
    server = stack.enter_context(running_server(db, 1, metering="true", **PRIVATE))
    payload = w.queries(work)["api_usage_top10"]
    w.check_once(server, payload, work.token)
    return server, payload, work.token


def metering(quick: bool) -> dict[str, Any]:
    """Metered GraphQL throughput (SQLite) with rules on every organization vs none."""
    cfg = plan(quick)["metering"]
    with ExitStack() as stack:
        sides = _sides(stack, lambda v, inner: _metering_side(inner, v == "rules", quick))

        def once(variant: str, _: int) -> dict[str, Any]:
            server, payload, token = sides[variant]
            return w.measure(
                server,
                payload,
                token,
                connections=cfg["connections"],
                duration=cfg["duration"],
                warmup=cfg["warmup"],
            )

        runs = _rotate(cfg["rounds"], once)
        recorded = {
            v: s.metric("tallyboard_metering_recorded_calls_total")
            for v, (s, _, _) in sides.items()
        }
    return {
        "settings": cfg,
        "summary": {v: w.summarize(runs[v]) for v in VARIANTS},
        "loss": _losses(runs, "throughput", higher_is_better=True),
        "cpu_loss": _losses(runs, "server_cpu_us", higher_is_better=False),
        "calls_recorded": recorded,
    }


def run(quick: bool, engines: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {
        "ingest": {engine: ingest(engine, quick) for engine in engines},
        "metering": metering(quick),
    }
    results["targets"] = targets(results)
    return results


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [
        (f"ingest throughput with rules on every organization, {engine}", data["loss"])
        for engine, data in results["ingest"].items()
    ]
    rows.append(
        ("metered GraphQL throughput with rules on every organization", results["metering"]["loss"])
    )
    return [
        {
            "section": "alert_rules",
            "target": f"{name}: within 2 % of the same run without rules",
            "measured": loss["rules"]["median"],
            "maximum": TARGET_LOSS,
            "met": loss["rules"]["median"] <= TARGET_LOSS,
            "noise_floor": loss["control"]["median"],
        }
        for name, loss in rows
    ]


def render(results: dict[str, Any]) -> list[str]:
    """The side-by-side tables (lines of the section's markdown)."""
    lines = [
        "**End to end, side by side.** Three servers in one run, each on its own database "
        "with the same organizations (all with allowances) and webhook: *rules* has the "
        "default rule (thresholds 80 and 100, forecast on), *none* and *control* a rule "
        "that watches nothing (so the detector skips their organizations, as with no rule); "
        "*control* is configured like *none*, so its difference is the noise floor (A/A). "
        "Rounds rotate the servers' order; losses are medians of the per-round losses "
        "against *none* (positive = slower or more CPU).",
        "",
        "| load | rounds | req or events/s rules | none | control | loss rules | "
        "loss control (noise) | CPU Δ rules | CPU Δ control |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for engine, d in results["ingest"].items():
        rate, loss, cpu = d["events_per_s"], d["loss"], d["cpu_loss"]
        lines.append(
            f"| ingest {engine}, {d['events_per_run']:,} events | {d['rounds']} | "
            f"{rate['rules']:,.0f} | {rate['none']:,.0f} | {rate['control']:,.0f} | "
            f"{_pct(loss['rules'])} | {_pct(loss['control'])} | {_pct(cpu['rules'])} | "
            f"{_pct(cpu['control'])} |"
        )
    m = results["metering"]
    summary, loss, cpu, cfg = m["summary"], m["loss"], m["cpu_loss"], m["settings"]
    lines.append(
        f"| metered `apiUsageStats`, sqlite, {cfg['duration']} s × {cfg['connections']} "
        f"connections | {cfg['rounds']} | {summary['rules']['throughput']:,.0f} | "
        f"{summary['none']['throughput']:,.0f} | {summary['control']['throughput']:,.0f} | "
        f"{_pct(loss['rules'])} | {_pct(loss['control'])} | {_pct(cpu['rules'])} | "
        f"{_pct(cpu['control'])} |"
    )
    lines += ["", "Target (issue 14): within 2 % of the same run without rules."]
    for row in results.get("targets", []):
        verdict = "met" if row["met"] else "missed"
        lines.append(
            f"- {row['target']}: {100 * row['measured']:+.2f} % ({verdict}; noise floor "
            f"{100 * row['noise_floor']:+.2f} %)"
        )
    lines += [
        "",
        "Per round (loss of *rules*): "
        + "; ".join(
            f"ingest {e}: "
            + ", ".join(f"{100 * x:+.1f} %" for x in d["loss"]["rules"]["per_round"])
            for e, d in results["ingest"].items()
        )
        + "; metering: "
        + ", ".join(f"{100 * x:+.1f} %" for x in loss["rules"]["per_round"])
        + ".",
    ]
    return lines


def _pct(loss: dict[str, Any]) -> str:
    return f"{100 * loss['median']:+.2f} %"
