"""The benchmark suite's quick mode still works end to end (issue 7).

Runs ``python -m bench --quick`` into a temp dir -- real servers, the separate load
generator, every section that exists -- and checks the structure of the JSON and the
Markdown it writes. It asserts nothing about timings: performance is judged by the
full run's ratios in docs/benchmarks.md, not by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from bench.__main__ import SECTIONS, available_sections

pytestmark = [pytest.mark.slow, pytest.mark.sqlite]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(660)
def test_quick_mode_writes_the_report_of_every_section(tmp_path: Path) -> None:
    sections = available_sections()
    assert list(sections) == SECTIONS
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--output", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-4000:]

    results = json.loads((tmp_path / "latest.json").read_text())
    assert results["quick"] is True
    machine = results["machine"]
    for key in ("cpu", "cores", "memory_bytes", "python", "sqlite", "postgresql", "commit"):
        assert key in machine
    assert list(results["sections"]) == [n for n in sections if n in results["sections"]]
    assert set(results["sections"]) == set(sections)
    for name, section in results["sections"].items():
        assert "error" not in section, (name, section)

    overhead = results["sections"]["metering_overhead"]
    assert overhead["calls_recorded_on"] > 0  # the metered server really metered
    assert overhead["calls_recorded_off"] == 0  # and the other really did not
    for label in ("on", "off"):
        assert overhead[label]["runs"] and overhead[label]["runs"][0]["errors"] == 0
    ceiling = results["sections"]["ceiling"]
    for engine in ceiling["engines"].values():
        assert set(engine["queries"]) == {"typename", "api_usage_top10", "ai_combined_cached"}
        assert set(engine["ratios"]) == {"api_usage_top10", "ai_combined_cached"}
        assert all(q["runs"][0]["requests"] > 0 for q in engine["queries"].values())
    assert {t["section"] for t in ceiling["targets"]} == {"ceiling"}
    assert results["sections"]["memory"]["accumulator"]["keys"] == 10_000
    guard = results["sections"]["figure_ceiling"]["engines"]
    assert set(guard) == {"sqlite", "postgresql"}
    for engine in guard.values():
        assert set(engine["cpu_us"]) == {"guarded", "baseline"}
        assert engine["guard_step_cpu_us"] > 0  # the guarded writer really folded totals
    latency = results["sections"]["query_latency"]
    for engine in latency["engines"].values():
        # every (size, period, query) cell was measured, and the naive baseline computed
        # the same top 10 as the API
        assert len(engine["latency"]) == len(latency["tiers"]) * 2 * len(latency["series"])
        assert all(cell["samples"] > 0 for cell in engine["latency"].values())
        assert engine["naive"] and all(n["same_answer"] for n in engine["naive"].values())
    assert {t["section"] for t in latency["targets"]} == {"query_latency"}
    ingest = results["sections"]["ingest_throughput"]
    assert ingest["cells"] and all(cell["exact"] for cell in ingest["cells"])
    assert {c["replays"] for c in ingest["cells"]} == {0, 0.5}
    assert {t["section"] for t in ingest["targets"]} == {"ingest_throughput"}
    placement = results["sections"]["placement"]
    assert set(placement["cost"]) == {"typename", "api_usage_top10", "ai_combined_cached"}
    for cost in placement["cost"].values():
        assert cost["inline"]["runs"][0]["requests"] > 0
        assert cost["threads"]["runs"][0]["requests"] > 0
    assert set(placement["under_writes"]) == {"inline", "threads"}
    assert all(u["probes"] > 0 for u in placement["under_writes"].values())

    producer = results["sections"]["producer_overhead"]
    for app in ("trivial", "strawberry"):
        measured = producer["apps"][app]
        assert all(measured[v]["runs"][0]["requests"] > 0 for v in ("metered", "unmetered"))
        assert measured["metered_requests"] > 0
        assert measured["exact"], measured  # every metered request shows in apiUsageStats
    assert producer["memory"]["bytes_per_key"] > 0
    assert {"lock", "lock_free", "no_lock"} <= set(producer["record"])

    alerts = results["sections"]["alert_rules"]
    assert all(
        e["dispatcher"]["delivered"] == e["dispatcher"]["deliveries"]
        for e in alerts["engines"].values()
    )
    side = alerts["side_by_side"]
    assert all(data["exact"] for data in side["ingest"].values())
    metered = side["metering"]
    assert all(metered["calls_recorded"][v] > 0 for v in ("rules", "none", "control"))
    assert all(len(s["runs"]) == metered["settings"]["rounds"] for s in metered["summary"].values())
    within = [t for t in alerts["targets"] if "within 2 %" in t["target"]]
    assert len(within) == len(side["ingest"]) + 1  # ingest per engine, and metering
    assert all("noise_floor" in t for t in within)

    markdown = (tmp_path / "benchmarks.md").read_text()
    for heading in ("## Machine", "## Commands", "## Targets"):
        assert heading in markdown
    for module in sections.values():
        assert f"## {module.TITLE}" in markdown
    assert "quick (smoke) run" in markdown
