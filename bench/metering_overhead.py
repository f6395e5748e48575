"""Metering overhead: the same statistics query with self-metering on and off.

Two servers on one database, identical but for ``TALLYBOARD_METERING``; the load
alternates between them (on, off, on, off, ...) so drift in the machine's speed hits
both alike, and the loss is the median of the per-pair losses. The metered server also
runs its flusher (one write transaction per second), which is part of the cost. A third
server, unmetered like the second, runs in the same rotation as a control: its "loss"
against the second is the noise floor of the comparison (an A/A test).
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import workload as w
from bench.server import Server, fresh_database, running_server

SECTION = "metering_overhead"
TITLE = "Metering overhead"
COMMAND = ".venv/bin/python -m bench --only metering_overhead"
TARGET_LOSS = 0.01
QUERY = "api_usage_top10"


def run(quick: bool) -> dict[str, Any]:
    cfg = w.settings_for(quick)
    rounds = cfg["rounds"] if quick else 2 * cfg["rounds"] - 1
    with fresh_database("sqlite", "metering") as db:
        workload = w.prepare(db, quick)
        payload = w.queries(workload)[QUERY]
        with (
            running_server(db, metering="true") as on,
            running_server(db, metering="false") as off,
            running_server(db, metering="false") as control,
        ):
            servers = [("on", on), ("off", off), ("control", control)]
            for _, server in servers:
                w.check_once(server, payload, workload.token)
            runs = _rotate(servers, payload, workload.token, cfg, rounds)
            recorded = on.metric("tallyboard_metering_recorded_calls_total")
            recorded_off = off.metric("tallyboard_metering_recorded_calls_total")
    losses = _losses(runs["on"], runs["off"], "throughput")
    loss = round(statistics.median(losses), 4) if losses else 0.0
    # The same comparison in server CPU per request: far less sensitive to whatever
    # else the machine is doing than req/s.
    cpu_losses = _losses(runs["off"], runs["on"], "server_cpu_us")
    cpu_loss = round(statistics.median(cpu_losses), 4) if cpu_losses else 0.0
    control_losses = _losses(runs["control"], runs["off"], "throughput")
    control_loss = round(statistics.median(control_losses), 4) if control_losses else 0.0
    return {
        "quick": quick,
        "settings": {**cfg, "rounds": rounds},
        "query": QUERY,
        "on": w.summarize(runs["on"]),
        "off": w.summarize(runs["off"]),
        "loss_per_round": [round(x, 4) for x in losses],
        "loss": loss,
        "cpu_loss_per_round": [round(x, 4) for x in cpu_losses],
        "cpu_loss": cpu_loss,
        "control": w.summarize(runs["control"]),
        "control_loss_per_round": [round(x, 4) for x in control_losses],
        "control_loss": control_loss,
        "calls_recorded_on": recorded,
        "calls_recorded_off": recorded_off,
        "targets": [
            {
                "section": SECTION,
                "target": "throughput loss with metering on ≤ 1%",
                "measured": loss,
                "maximum": TARGET_LOSS,
                "met": loss <= TARGET_LOSS,
            }
        ],
    }


def _rotate(
    servers: list[tuple[str, Server]],
    payload: bytes,
    token: str,
    cfg: dict[str, Any],
    rounds: int,
) -> dict[str, list[dict[str, Any]]]:
    """``rounds`` runs of every server, rotating who goes first, so no server is always
    measured at one position."""
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _ in servers}
    for i in range(rounds):
        order = servers[i % 3 :] + servers[: i % 3]
        for label, server in order:
            runs[label].append(
                w.measure(
                    server,
                    payload,
                    token,
                    connections=cfg["connections"],
                    duration=cfg["duration"],
                    warmup=cfg["warmup"],
                )
            )
    return runs


def _losses(
    measured: list[dict[str, Any]], reference: list[dict[str, Any]], key: str
) -> list[float]:
    """Per pair, ``1 - measured / reference`` of ``key`` (pairs without a reference
    figure are left out)."""
    return [1 - a[key] / b[key] for a, b in zip(measured, reference, strict=True) if b[key]]


def render(results: dict[str, Any]) -> str:
    cfg = results["settings"]
    loss = results["loss"]
    verdict = (
        "met"
        if loss <= TARGET_LOSS
        else f"missed by {100 * (loss - TARGET_LOSS):.1f} percentage points"
    )
    lines = [
        f"`apiUsageStats` (top 10 operations, last 3 months, largest organization) on SQLite, "
        f"two servers identical but for `TALLYBOARD_METERING` plus a second unmetered "
        f"server as a control (A/A), {cfg['rounds']} rotating rounds of "
        f"{cfg['duration']} s runs with {cfg['connections']} connections.",
        "",
        *_table(results),
        "",
        f"Throughput loss (median of per-pair losses): **{100 * loss:.2f} %** "
        f"(target ≤ 1 %: {verdict}). Per pair: "
        + ", ".join(f"{100 * x:+.1f} %" for x in results["loss_per_round"])
        + ".",
        "",
        *_noise_floor(results),
        f"In server CPU per request the metered server costs "
        f"**{100 * results.get('cpu_loss', 0.0):.2f} %** more (median per pair: "
        + ", ".join(f"{100 * x:+.1f} %" for x in results.get("cpu_loss_per_round", []))
        + "). A `py-spy` profile of the metered server under this load puts "
        "`Accumulator.record` (with its Prometheus counter) at 0.5 % and the flusher "
        "(`Flusher.flush` → `FlushStore.apply`, once a second in a worker thread) at "
        "0.2 % of the server's samples; req/s on a shared 2-core machine swings by "
        "more than that between runs, which is why every pair is listed.",
        "",
        f"The metered server counted {results['calls_recorded_on']:.0f} billable calls; the "
        f"unmetered one {results['calls_recorded_off']:.0f}. Recording a call is one dict "
        "increment on the event loop plus a Prometheus counter (1–2 µs, measured in the "
        "memory section) against hundreds of µs per request; a negative loss means the "
        "metered server happened to be faster. Both servers read the same database, so "
        "the metered server's flushes (one small write transaction per second) affect "
        "both alike. Every organization of this workload has allowances, so those flushes "
        "run the allowance-alert check (the built-in rule); metered throughput with and "
        "without rules, side by side, is in *Allowance alerts*.",
        "",
        f"Reproduce: `{COMMAND}`",
    ]
    return "\n".join(lines)


def _table(results: dict[str, Any]) -> list[str]:
    on, off = results["on"], results["off"]
    return [
        "| metering | req/s (median) | p50 ms | p99 ms | server CPU µs/req |",
        "|---|---:|---:|---:|---:|",
        f"| on | {on['throughput']:.0f} | {on['p50_ms']:.2f} | {on['p99_ms']:.2f} | "
        f"{on.get('server_cpu_us', 0):.0f} |",
        f"| off | {off['throughput']:.0f} | {off['p50_ms']:.2f} | {off['p99_ms']:.2f} | "
        f"{off.get('server_cpu_us', 0):.0f} |",
        *(
            [
                f"| off (control) | {results['control']['throughput']:.0f} | "
                f"{results['control']['p50_ms']:.2f} | {results['control']['p99_ms']:.2f} | "
                f"{results['control'].get('server_cpu_us', 0):.0f} |"
            ]
            if "control" in results
            else []
        ),
    ]


def _noise_floor(results: dict[str, Any]) -> list[str]:
    """The A/A comparison, when the results have one."""
    if "control_loss" not in results:
        return []
    return [
        f"Noise floor: the control server, configured exactly like the unmetered "
        f"one, differs from it by **{100 * results['control_loss']:+.2f} %** "
        "(median per round: "
        + ", ".join(f"{100 * x:+.1f} %" for x in results["control_loss_per_round"])
        + "); a loss within that band is not distinguishable from zero.",
        "",
    ]
