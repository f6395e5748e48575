"""The ingest-throughput section of docs/benchmarks.md."""

from __future__ import annotations

from typing import Any

from bench.ingest_throughput.plan import COMMAND


def _mib(value: int) -> str:
    return f"{value / (1 << 20):.0f} MiB"


def _total_cpu(cell: dict[str, Any]) -> float:
    """CPU µs per event of the whole machine's share: server + database + sender."""
    return float(
        cell["median_cpu_us_per_event"]
        + cell.get("median_database_cpu_us_per_event", 0.0)
        + cell.get("median_sender_cpu_us_per_event", 0.0)
    )


def render(results: dict[str, Any]) -> str:
    cpus = results.get("cpus") or 1
    runs = len(results["cells"][0]["runs"]) if results["cells"] else 0
    out = _intro(results, cpus, runs)
    out += _cells(results, cpus)
    out += _targets(results, cpus)
    if results["scale_out"]:
        out += _scale_out(results, cpus)
    for engine, profile in results.get("profiles", {}).items():
        out += _profile(engine, profile)
    out.append(f"\nReproduce: `{COMMAND}` (or `make bench`).")
    return "\n".join(out)


def _intro(results: dict[str, Any], cpus: int, runs: int) -> list[str]:
    out: list[str] = [f"> {results['skipped']}\n"] if results.get("skipped") else []
    out.append(
        "Events/s end to end over HTTP (`POST /v1/events`, NDJSON), one `tallyboard serve` "
        "process per cell, durable acknowledgement (SQLite WAL `synchronous=FULL`, "
        "PostgreSQL `synchronous_commit=on`) and dedupe on. The load comes from a separate "
        f"sender process (`bench/ingest_sender.py`) over {results['connections']} "
        "keep-alive connections, posting pre-encoded batches; events go to "
        f"{results['organizations']} organizations, a mix of the three event types. "
        "Replays are events acknowledged before the run, resent with the same payload: "
        "every run checks that exactly the new events come back `accepted` and exactly "
        f"the replays `duplicates` (column *exact*). Figures are medians of {runs} runs. "
        "CPU columns are CPU-µs per event: the server's processes (user + system; its "
        "*server CPU* is the share of one core), the PostgreSQL backends serving it and "
        "the sender; *CPU ceiling* is what the machine's "
        f"{cpus} cores could sustain at that total cost if nothing else ran."
    )
    if results.get("quick"):
        out.append("\n*Quick mode: tiny event counts, one run each; the timings mean nothing.*")
    return out


def _cells(results: dict[str, Any], cpus: int) -> list[str]:
    out: list[str] = []
    out.append(
        "\n| engine | batch | replays | events/s | server CPU | server µs/event "
        "| PostgreSQL µs/event | sender µs/event | CPU ceiling | peak RSS | exact |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for cell in results["cells"]:
        database = (
            f"{cell['median_database_cpu_us_per_event']:.1f}"
            if cell["engine"] == "postgresql"
            else "(in server)"
        )
        out.append(
            f"| {cell['engine']} | {cell['batch']:,} | {cell['replays']:.0%} "
            f"| {cell['median_events_per_s']:,.0f} | {cell['median_cpu_pct']:.0f}% "
            f"| {cell['median_cpu_us_per_event']:.1f} | {database} "
            f"| {cell['median_sender_cpu_us_per_event']:.1f} "
            f"| {cpus * 1e6 / _total_cpu(cell):,.0f} | {_mib(cell['peak_rss_bytes'])} "
            f"| {'yes' if cell['exact'] else 'NO'} |"
        )
    return out


def _targets(results: dict[str, Any], cpus: int) -> list[str]:
    out: list[str] = []
    out.append("\n**Targets** (batches of 1,000, no replays):\n")
    for engine, target in results["target_rates"].items():
        cell = next(
            (
                c
                for c in results["cells"]
                if c["engine"] == engine and c["batch"] == 1000 and not c["replays"]
            ),
            None,
        )
        if cell is None:
            out.append(f"- {engine}: not measured (no server available).")
            continue
        rate = cell["median_events_per_s"]
        if rate >= target:
            out.append(f"- {engine}: **met** — {rate:,.0f} events/s ≥ {target:,}.")
        else:
            out.append(
                f"- {engine}: **missed** — {rate:,.0f} events/s, {rate / target:.0%} of "
                f"{target:,} (short by {target - rate:,.0f} events/s). " + _why(cell, cpus)
            )
    return out


def _scale_out(results: dict[str, Any], cpus: int) -> list[str]:
    out: list[str] = []
    out.append(
        "\n**Scale-out on one PostgreSQL** (batches of 1,000, no replays; "
        "`TALLYBOARD_WORKERS` = N server processes behind one port):\n"
    )
    out.append(
        "| server processes | events/s | vs 1 | server CPU | server µs/event "
        "| PostgreSQL µs/event | CPU ceiling | peak RSS (sum) |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    base = results["scale_out"][0]["median_events_per_s"]
    for cell in results["scale_out"]:
        out.append(
            f"| {cell['workers']} | {cell['median_events_per_s']:,.0f} "
            f"| {cell['median_events_per_s'] / base:.2f}× | {cell['median_cpu_pct']:.0f}% "
            f"| {cell['median_cpu_us_per_event']:.1f} "
            f"| {cell['median_database_cpu_us_per_event']:.1f} "
            f"| {cpus * 1e6 / _total_cpu(cell):,.0f} | {_mib(cell['peak_rss_bytes'])} |"
        )
    first = results["scale_out"][0]
    out.append(
        f"\nWhere the bottleneck is: every event costs the machine about "
        f"{_total_cpu(first):.0f} CPU-µs in all (server "
        f"{first['median_cpu_us_per_event']:.0f}, PostgreSQL "
        f"{first['median_database_cpu_us_per_event']:.0f}, sender "
        f"{first['median_sender_cpu_us_per_event']:.0f}), so {cpus} cores cannot "
        f"ingest more than about {cpus * 1e6 / _total_cpu(first):,.0f} events/s however "
        "the work is spread. One server process already uses a large part of one "
        "core and PostgreSQL's backends most of the other; more server processes "
        "add parallel Python (parse, validate, hash) but no cores, so they mainly "
        "overlap one batch's Python work with another's round trips and commit, "
        "and cost about 100 MiB of RSS each. On a machine with spare cores the "
        "processes scale until PostgreSQL's own per-event cost (index and "
        "foreign-key maintenance of the ledger, WAL) fills its cores."
    )
    return out


def _profile(engine: str, profile: dict[str, Any]) -> list[str]:
    out: list[str] = []
    out.append(
        f"\n**Where the server's time goes — {engine}, batches of 1,000** (py-spy, "
        f"{profile['samples']:,} samples of the server's busy threads at 250 Hz "
        "during one extra run — worker threads parked on a queue left out; C code "
        "(orjson, SQLite, psycopg, uvloop) is counted in the Python frame that called "
        "it, so a commit's fsync and a wait for PostgreSQL count as busy):\n"
    )
    out.append("| stage | share of samples |")
    out.append("|---|---:|")
    for stage in profile["stages"]:
        out.append(f"| {stage['stage']} | {stage['share']:.0%} |")
    out.append("\nHottest frames (self time):\n")
    out.append("| frame | self |")
    out.append("|---|---:|")
    for frame in profile["hottest_self"][:10]:
        out.append(f"| `{frame['frame']}` | {frame['share']:.1%} |")
    return out


def _why(cell: dict[str, Any], cpus: int) -> str:
    stages = (cell.get("profile") or {}).get("stages", [])
    top = ", ".join(f"{s['stage']} {s['share']:.0%}" for s in stages[:4])
    server = cell["median_cpu_us_per_event"]
    total = _total_cpu(cell)
    text = (
        f"The server process spends {server:.1f} CPU-µs per event, so even one fully "
        f"busy core tops out near {1e6 / server:,.0f} events/s; with the database and "
        f"the sender, an event costs {total:.1f} CPU-µs, a ceiling of "
        f"{cpus * 1e6 / total:,.0f} events/s on {cpus} cores"
    )
    if top:
        text += f". The server's busy time by stage: {top}"
    return text + "."
