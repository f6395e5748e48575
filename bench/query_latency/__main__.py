"""``python -m bench.query_latency [--quick]``: this section alone, printed."""

from __future__ import annotations

import sys

from bench.query_latency import render, run

print(render(run("--quick" in sys.argv)))
