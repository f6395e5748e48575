"""Framework ceiling: statistics queries against the same server's ``{ __typename }``.

``{ __typename }`` goes through everything a GraphQL request pays for (HTTP,
authentication, the document cache, execution, JSON) and nothing a statistics query
adds, so the ratio of a statistics query's throughput to it shows how much of the
framework's ceiling the query keeps. The three queries run interleaved on one server
(typename, apiUsageStats, combined, typename, ...), and each ratio is the median of the
per-round ratios, so machine noise hits numerator and denominator alike.
"""

from __future__ import annotations

import statistics
from typing import Any

from bench import workload as w
from bench.server import fresh_database, running_server

SECTION = "ceiling"
TITLE = "Framework ceiling ratio"
COMMAND = ".venv/bin/python -m bench --only ceiling"

TARGETS = {"api_usage_top10": 0.6, "ai_combined_cached": 0.8}
LABELS = {
    "typename": "`{ __typename }`",
    "api_usage_top10": "`apiUsageStats` top 10, last 3 months, largest org",
    "ai_combined_cached": "`aiCreditUsageStatsCombined`, 25 orgs, cached",
}


def _engine(engine: str, quick: bool) -> dict[str, Any]:
    cfg = w.settings_for(quick)
    with fresh_database(engine, "ceiling") as db:
        workload = w.prepare(db, quick)
        payloads = w.queries(workload)
        with running_server(db) as server:
            for payload in payloads.values():
                w.check_once(server, payload, workload.token)  # and warms the AI cache
            runs: dict[str, list[dict[str, Any]]] = {name: [] for name in payloads}
            for _ in range(cfg["rounds"]):
                for name, payload in payloads.items():
                    runs[name].append(
                        w.measure(
                            server,
                            payload,
                            workload.token,
                            connections=cfg["connections"],
                            duration=cfg["duration"],
                            warmup=cfg["warmup"],
                        )
                    )
            peak_rss = server.peak_rss_bytes()
    queries = {name: w.summarize(r) for name, r in runs.items()}
    ratios = {}
    for name in TARGETS:
        per_round = [
            q["throughput"] / t["throughput"]
            for q, t in zip(runs[name], runs["typename"], strict=True)
            if t["throughput"]
        ]
        cpu_per_round = [
            t["server_cpu_us"] / q["server_cpu_us"]
            for q, t in zip(runs[name], runs["typename"], strict=True)
            if q["server_cpu_us"]
        ]
        ratios[name] = {
            "per_round": [round(r, 3) for r in per_round],
            "median": round(statistics.median(per_round), 3) if per_round else 0.0,
            "cpu_median": round(statistics.median(cpu_per_round), 3) if cpu_per_round else 0.0,
        }
    return {
        "queries": queries,
        "ratios": ratios,
        "peak_rss_bytes": peak_rss,
        "api_calls_of_largest_org": workload.api_calls,
        "events_backfilled": workload.api_events,
    }


def run(quick: bool) -> dict[str, Any]:
    engines, note = w.engines()
    results: dict[str, Any] = {"quick": quick, "settings": w.settings_for(quick), "note": note}
    results["engines"] = {engine: _engine(engine, quick) for engine in engines}
    results["targets"] = [
        {
            "section": SECTION,
            "target": f"{LABELS[name]} / `{{ __typename }}` ≥ {minimum} ({engine})",
            "measured": data["ratios"][name]["median"],
            "minimum": minimum,
            "met": data["ratios"][name]["median"] >= minimum,
        }
        for engine, data in results["engines"].items()
        for name, minimum in TARGETS.items()
    ]
    return results


def render(results: dict[str, Any]) -> str:
    cfg = results["settings"]
    lines = [
        f"Each figure is the median of {cfg['rounds']} interleaved runs of "
        f"{cfg['duration']} s ({cfg['connections']} keep-alive connections from a separate "
        "`bench.loadgen` process, one server process). Ratios are medians of the per-round "
        "ratios.",
        "",
    ]
    if results.get("note"):
        lines += [f"> {results['note']}", ""]
    lines += [
        "| engine | query | req/s | p50 ms | p99 ms | server CPU µs/req | ratio to "
        "`__typename` (req/s) | (CPU) | target |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for engine, data in results["engines"].items():
        for name, q in data["queries"].items():
            ratio = data["ratios"].get(name)
            target = TARGETS.get(name)
            verdict = ""
            if ratio is not None and target is not None:
                gap = target - ratio["median"]
                verdict = f"≥ {target}: " + ("met" if gap <= 0 else f"missed by {gap:.2f}")
            tput = "" if ratio is None else format(ratio["median"], ".2f")
            cpu = "" if ratio is None else format(ratio.get("cpu_median", 0.0), ".2f")
            lines.append(
                f"| {engine} | {LABELS[name]} | {q['throughput']:.0f} | {q['p50_ms']:.2f} | "
                f"{q['p99_ms']:.2f} | {q.get('server_cpu_us', 0):.0f} | {tput} | {cpu} | "
                f"{verdict} |"
            )
    lines += ["", TUNING, "", f"Reproduce: `{COMMAND}`"]
    return "\n".join(lines)


TUNING = """**How the GraphQL layer is tuned** ([decision
0009](decisions/0009-graphql-request-path.md), measured with this section and `py-spy
record` on the server process): one read transaction per request; on SQLite, documents
that execute within 5 ms of CPU run on the event loop with reads that never wait for a
lock (no thread hop, no GIL hand-offs around every SQLite call; decision 0014: never on
PostgreSQL); a precompiled projection instead of graphql-core's general executor for
plain documents (identical answers, falls back otherwise); prebuilt statements for the
credential, grants and settings reads; grants remembered per tenancy generation (every
`admin apply` writes a new one, read with the credential, so a removed permission is
honoured by the next request); for the cached combined query, authorization first, then
a peek at the per-organization entries and the answer already built from exactly those
figures; `gc.freeze()` after startup. Before this work, on the same machine and suite,
the ratios were 0.27 (`apiUsageStats`) and 0.17 (cached combined) on SQLite, 0.30 and
0.25 on PostgreSQL, with `{ __typename }` at 1,538 req/s (548 µs of server CPU per
request) on SQLite.

**Why a target is missed.** `apiUsageStats`: what is left after the GraphQL layer is
mostly the statistics read (`storage/api_usage_reader.top_values`, statement built per
call plus the grouped SQL, about a third of the request's CPU in the profile), then
uvicorn/Starlette and the socket write that `{ __typename }` pays too; the read path is
tuned in the query-latency work. Cached combined on SQLite: the remaining gap is mostly
the answer itself -- a 6 KB response costs more to encode and write to the socket than
the 60-byte `{ __typename }` answer (`RequestResponseCycle.send` is the hottest frame
left) -- plus authorization on every request. On PostgreSQL `{ __typename }` itself
waits for the credential lookup's round trip, so the ratio is higher."""
