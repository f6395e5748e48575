"""What the ingest-throughput section measures: sizes, connections and targets."""

from __future__ import annotations

from typing import Any

SECTION = "ingest_throughput"
TITLE = "Ingest throughput"

TARGETS = {"sqlite": 100_000, "postgresql": 50_000}
"""Events/s with batches of 1,000 (the ingestion issue's targets)."""

CONNECTIONS = 4
ORGANIZATIONS = 10
COMMAND = ".venv/bin/python -m bench --only ingest_throughput"


def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "events": {100: 600, 1000: 2_000},
            "runs": 1,
            "scale_workers": [1, 2, 4],
            "scale_events": 2_000,
            "profile": False,
        }
    return {
        "events": {100: 40_000, 1000: 100_000},
        "runs": 3,
        "scale_workers": [1, 2, 4],
        "scale_events": 100_000,
        "profile": True,
    }
