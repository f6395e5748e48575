"""The automation jobs export's event scan (``storage/export_sources.job_events``).

It reads in keyset chunks: every event of the period exactly once, oldest first, even
when events sharing a time straddle a chunk boundary (on both engines); and on SQLite
each chunk's query does about the same work wherever it starts, so an export's cost
grows linearly with its rows (a chunk that re-read the rows before it made the 1M-row
export ~8x slower per row than the 100k one). The work is counted in SQLite virtual
machine instructions (its progress handler), not timed.
"""

from __future__ import annotations

import json
import sqlite3
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import event, insert
from sqlalchemy.engine import Connection

from tallyboard.domain.events import EVENT_TYPE_CODES
from tallyboard.domain.usage import EventType
from tallyboard.storage import export_sources
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.rollup_writes import new_org

JOB = EVENT_TYPE_CODES[EventType.AUTOMATION_JOB]
CALL = EVENT_TYPE_CODES[EventType.API_CALL]
START, END = 1_000_000, 2_000_000
CHUNK = 20


def _event(org_pk: int, source: str, event_id: str, time_ms: int, **extra: Any) -> dict[str, Any]:
    payload = {"type": "automation.job", "data": {"automationId": event_id, "jobs": 1}}
    return {
        "org_pk": org_pk,
        "source": source,
        "event_id": event_id,
        "type": extra.pop("type", JOB),
        "time_ms": time_ms,
        "payload_hash": b"\0" * 16,
        "payload": json.dumps(payload).encode(),
        "received_at_ms": time_ms,
        "voided_at_ms": extra.pop("voided_at_ms", None),
    }


def _load(database: Database, count: int) -> tuple[int, list[tuple[int, str]]]:
    """``count`` counted job events of one organization in the period (every time
    shared by three events of two sources, so ties cross chunk boundaries), and events
    the scan must skip; the expected (time, automation id) in order."""
    org, other = new_org(database), new_org(database)
    rows, expected = [], []
    for i in range(count):
        time_ms = START + i // 3 * 100
        source = "b" if i % 2 else "a"
        rows.append(_event(org, source, f"e{i:05d}", time_ms))
        expected.append((time_ms, source, f"e{i:05d}"))
    rows += [
        _event(org, "a", "early", START - 1),
        _event(org, "a", "late", END),
        _event(org, "a", "voided", START + 5, voided_at_ms=1),
        _event(org, "a", "call", START + 5, type=CALL),
        _event(other, "a", "other", START + 5),
    ]
    with database.write() as conn:
        conn.execute(insert(t.events), rows)
    return org, [(time_ms, event_id) for time_ms, _, event_id in sorted(expected)]


def test_every_event_of_the_period_once_oldest_first(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_sources, "_CHUNK", CHUNK)
    database = Database(database_url)
    try:
        org, expected = _load(database, 10 * CHUNK + 7)
        with database.read() as conn:
            scan = export_sources.job_events(conn, org, START, END)
            found = [(e.time_ms, e.automation_id) for e in scan]
    finally:
        database.dispose()
    assert found == expected


def _work_per_query(conn: Connection, scan: Any) -> list[int]:
    """SQLite VM instructions of each statement the scan runs (in tens)."""
    raw = conn.connection.driver_connection
    assert isinstance(raw, sqlite3.Connection)
    steps = [0]
    marks: list[int] = []

    def count() -> int:
        steps[0] += 1
        return 0

    def mark(*_: object) -> None:
        marks.append(steps[0])

    raw.set_progress_handler(count, 10)
    event.listen(conn, "before_cursor_execute", mark)
    try:
        for _ in scan:
            pass
    finally:
        event.remove(conn, "before_cursor_execute", mark)
        raw.set_progress_handler(None, 10)
    marks.append(steps[0])
    return [b - a for a, b in pairwise(marks)]


@pytest.mark.sqlite
def test_each_chunk_costs_the_same_wherever_it_starts(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_sources, "_CHUNK", CHUNK)
    database = Database(sqlite_url)
    try:
        org, expected = _load(database, 40 * CHUNK)
        with database.read() as conn:
            work = _work_per_query(conn, export_sources._job_events(conn, org, START, END))
    finally:
        database.dispose()
    chunks = len(expected) // CHUNK + 1
    assert len(work) == chunks
    # Re-reading the rows before it, the last chunk would cost ~40x the first.
    assert max(work[1:]) <= 3 * work[1], work
