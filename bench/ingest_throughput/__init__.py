"""Ingest throughput: events/s end to end over HTTP, SQLite and PostgreSQL.

Each cell (engine x batch size x replays) starts one real ``tallyboard serve`` on a
migrated database and measures ``POST /v1/events`` with durable acknowledgement (SQLite
WAL + ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``) and dedupe on. The
driver pre-encodes every batch into a file; a separate sender process
(``bench.ingest_sender``) posts them over several keep-alive connections, so neither
building events nor decoding responses is counted as the server's CPU. Every run is
checked for exactness: the sum of ``accepted`` and of ``duplicates`` over the
responses must equal exactly the new and the replayed events sent (replays are events
acknowledged before the run, with the same payload), and nothing may be rejected.

Also: ingest scale-out with 1, 2 and 4 server processes on one PostgreSQL, and the
server's peak RSS (VmHWM, summed over its processes) under each load. With py-spy
installed, one extra run per engine is profiled and its hottest frames reported.

    .venv/bin/python -m bench --only ingest_throughput
Split by job: ``plan`` (sizes and targets), ``sending`` (events, the sender process,
one exact timed run), ``profiling`` (py-spy), ``runner`` (the cells) and ``rendering``.
"""

from __future__ import annotations

from bench.ingest_throughput.plan import SECTION, TITLE
from bench.ingest_throughput.rendering import render
from bench.ingest_throughput.runner import run

__all__ = ["SECTION", "TITLE", "render", "run"]
