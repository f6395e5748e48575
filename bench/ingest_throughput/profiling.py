"""Where the server's time goes: py-spy over its processes, summarized by ingest stage."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.server import Server


@contextmanager
def profiled(server: Server, out: Path) -> Iterator[None]:
    """py-spy the server's processes (raw collapsed stacks) while the block runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    procs = []
    for pid in server.pids():
        procs.append(
            subprocess.Popen(
                [
                    spy,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    "250",
                    "--format",
                    "raw",
                    "--output",
                    f"{out}.{pid}",
                    "--nonblocking",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    time.sleep(1.0)
    try:
        yield
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        for proc in procs:
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


_STAGES = (
    (
        "HTTP, event loop, thread hops",
        ("uvicorn", "starlette", "anyio", "httptools", "asyncio", "Runner.run"),
    ),
    ("parse (orjson)", ("parse_events", "_parse_ndjson")),
    ("validate, normalize, canonical JSON + SHA-256", ("EventValidator", "_canonical")),
    ("organization + window checks", ("_admit",)),
    ("ledger insert (events)", ("insert_absent", "EventStore.insert")),
    ("fold + rollup upserts", ("RollupWriter", "usage_deltas")),
    ("catalog facts + upserts", ("apply_facts", "catalog_facts")),
    ("commit", ("do_commit", "_commit_impl")),
    ("waiting for PostgreSQL (round trips)", ("Connection.wait",)),
)
"""Ingest stages by the frames that mark them; the deepest marked frame of a stack wins."""


_PARKED = frozenset(
    {"Condition.wait (threading.py)", "Event.wait (threading.py)", "Queue.get (queue.py)"}
)
"""Leaf frames of threads that py-spy reports as active but that wait for work."""


def summarize_profile(paths: list[Path]) -> dict[str, Any]:
    """Hottest self frames and the share of samples per ingest stage."""
    self_counts: Counter[str] = Counter()
    stage_counts: Counter[str] = Counter()
    total = parked = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            leaf = _frame_name(frames[-1])
            if leaf in _PARKED:
                parked += count  # a worker thread waiting for work: not busy
                continue
            total += count
            self_counts[leaf] += count
            stage = _stage(frames)
            stage_counts[stage] += count
    if not total:
        return {}
    return {
        "samples": total,
        "parked_samples": parked,
        "hottest_self": [
            {"frame": frame, "share": count / total} for frame, count in self_counts.most_common(12)
        ],
        "stages": [
            {"stage": stage, "share": count / total} for stage, count in stage_counts.most_common()
        ],
    }


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/module.py:123)".
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    module = where.rsplit("/", 1)[-1].split(":")[0] if where else ""
    return f"{name} ({module})" if module else name


def _stage(frames: list[str]) -> str:
    # The deepest ingest stage on the stack wins (commit inside the transaction, etc.).
    for frame in reversed(frames):
        for stage, markers in reversed(_STAGES):
            if any(marker in frame for marker in markers):
                return stage
    return "other (threads, GC, metrics)"
