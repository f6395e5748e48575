"""``python -m bench [--quick] [--only SECTION ...] [--output DIR]``: the benchmark suite.

A full run writes ``bench/results/latest.json`` and ``docs/benchmarks.md`` (with
``--only``, the chosen sections replace theirs in the existing JSON and the report is
re-rendered from it). ``--quick`` runs every section at toy sizes to prove the code
paths work -- it asserts nothing about timings -- and writes into ``--output`` (default:
a fresh temp dir), never over the committed report.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import report

SECTIONS = [
    "metering_overhead",
    "ceiling",
    "placement",
    "query_latency",
    "ingest_throughput",
    "figure_ceiling",
    "alert_rules",
    "scale_out",
    "memory",
    "producer_overhead",
    "corrections_cost",
    "export_cost",
]
JSON_PATH = report.ROOT / "bench" / "results" / "latest.json"
MARKDOWN_PATH = report.ROOT / "docs" / "benchmarks.md"


def available_sections() -> dict[str, ModuleType]:
    """Every section module, by name, in report order."""
    return {name: importlib.import_module(f"bench.{name}") for name in SECTIONS}


def renderers(modules: dict[str, ModuleType]) -> dict[str, tuple[str, Callable[[Any], str]]]:
    return {name: (module.TITLE, module.render) for name, module in modules.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="toy sizes, one short run each")
    parser.add_argument("--only", nargs="+", metavar="SECTION", help=f"among {SECTIONS}")
    parser.add_argument("--output", type=Path, help="directory for latest.json + benchmarks.md")
    parser.add_argument(
        "--render",
        action="store_true",
        help="only re-render benchmarks.md from the existing latest.json (no measuring)",
    )
    args = parser.parse_args(argv)

    modules = available_sections()
    if args.render:
        source = (args.output / "latest.json") if args.output else JSON_PATH
        target = (args.output / "benchmarks.md") if args.output else MARKDOWN_PATH
        report.write(json.loads(source.read_text()), renderers(modules), source, target)
        return 0
    chosen = args.only or list(modules)
    unknown = [name for name in chosen if name not in modules]
    if unknown:
        parser.error(f"unknown or missing sections {unknown}; available: {list(modules)}")

    if args.output is not None:
        out = args.output
        json_path, markdown_path = out / "latest.json", out / "benchmarks.md"
    elif args.quick:
        out = Path(tempfile.mkdtemp(prefix="tb-bench-quick-"))
        json_path, markdown_path = out / "latest.json", out / "benchmarks.md"
    else:
        json_path, markdown_path = JSON_PATH, MARKDOWN_PATH

    sections: dict[str, Any] = {}
    if args.only and not args.quick and json_path.exists():
        sections = json.loads(json_path.read_text()).get("sections", {})
    failed = []
    for name in chosen:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            sections[name] = modules[name].run(args.quick)
        except Exception as exc:
            traceback.print_exc()
            sections[name] = {"error": f"{exc.__class__.__name__}: {exc}"}
            failed.append(name)
        print(f"bench: {name} took {time.monotonic() - started:.0f} s", file=sys.stderr)
    ordered = {name: sections[name] for name in SECTIONS if name in sections}
    command = "python -m bench" + (" --quick" if args.quick else "")
    if args.only:
        command += " --only " + " ".join(args.only)
    results = {"quick": args.quick, "command": command, "machine": report.machine()}
    results["sections"] = ordered
    report.write(results, renderers(modules), json_path, markdown_path)
    print(f"bench: wrote {json_path} and {markdown_path}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
