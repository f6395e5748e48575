"""``tallyboard ingest FILE`` (over HTTP) and ``tallyboard backfill FILE`` (direct)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.domain.clock import SystemClock
from tallyboard.storage.database import Database
from tests.support.events import ai_credit, org_document, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW, LiveServer

pytestmark = pytest.mark.sqlite


def tallyboard(args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tallyboard", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ingest_a_file_over_http_with_progress_and_line_numbers(
    sqlite_url: str, tmp_path: Path
) -> None:
    server = LiveServer(sqlite_url)
    with server.running():
        document, (org,) = org_document()
        key = server.apply(document)["ingestKeys"][0]["key"]
        lines = [orjson.dumps(task_run(org, DEFAULT_NOW, tasks=2)) for _ in range(2_500)]
        lines.insert(10, b"")  # blank lines are skipped
        lines.insert(20, b"{broken")
        lines.append(orjson.dumps({**task_run(org, DEFAULT_NOW), "data": {"flowId": "f"}}))
        path = tmp_path / "events.ndjson"
        path.write_bytes(b"\n".join(lines) + b"\n")

        first = tallyboard(
            ["ingest", str(path), "--url", server.base_url, "--batch-size", "1000"],
            TALLYBOARD_INGEST_KEY=key,
        )
        assert first.returncode == 1, first.stderr  # some lines were rejected
        assert "2502 events sent, 2500 accepted, 0 duplicates, 2 rejected" in first.stderr
        assert "line 21: INVALID_EVENT event: not valid JSON" in first.stderr
        assert "line 2503: INVALID_EVENT data.tasks: is required" in first.stderr
        assert rollup_snapshot(sqlite_url, org).total_tasks() == 5_000

        again = tallyboard(
            ["ingest", str(path), "--url", server.base_url, "--key", key, "--batch-size", "700"]
        )
        assert "2500 duplicates" in again.stderr
        assert rollup_snapshot(sqlite_url, org).total_tasks() == 5_000

    missing_key = tallyboard(["ingest", str(path), "--url", server.base_url])
    assert missing_key.returncode == 2 and "--url needs an ingest key" in missing_key.stderr
    unreachable = tallyboard(
        ["ingest", str(path), "--url", "http://127.0.0.1:9", "--key", key, "--max-attempts", "2"]
    )
    assert unreachable.returncode == 1 and "Traceback" not in unreachable.stderr
    assert "gave up after 2 attempts" in unreachable.stderr


def test_ingest_without_a_key_writes_live_events_straight_to_the_database(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = Database(sqlite_url)
    document, (org,) = org_document()
    Applier(database, SystemClock()).apply(parse_document(document))
    database.dispose()
    now = datetime.now(UTC)
    live = [task_run(org, now - timedelta(days=1), tasks=3) for _ in range(40)]
    old = task_run(org, now - timedelta(days=90), tasks=100)
    path = tmp_path / "live.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in [*live, old]))
    result = tallyboard(["ingest", str(path)], TALLYBOARD_DATABASE_URL=sqlite_url)
    assert result.returncode == 1  # the 90-day-old event is outside the live window
    report = " ".join(result.stderr.split())  # rich wraps long lines
    assert "41 events sent, 40 accepted, 0 duplicates, 1 rejected" in report
    assert "line 41: OUT_OF_WINDOW" in report
    assert rollup_snapshot(sqlite_url, org).total_tasks() == 120


def test_backfill_imports_history_directly_and_can_be_rerun(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = Database(sqlite_url)
    document, (org,) = org_document()
    Applier(database, SystemClock()).apply(parse_document(document))
    database.dispose()
    long_ago = datetime.now(UTC) - timedelta(days=120)
    events = [ai_credit(org, long_ago + timedelta(minutes=i), credits=0.25) for i in range(1_200)]
    path = tmp_path / "history.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    result = tallyboard(["backfill", str(path)], TALLYBOARD_DATABASE_URL=sqlite_url)
    assert result.returncode == 0, result.stderr
    assert "1200 accepted" in result.stderr
    assert rollup_snapshot(sqlite_url, org).total_micro_credits() == 300_000_000
    rerun = tallyboard(["backfill", str(path)], TALLYBOARD_DATABASE_URL=sqlite_url)
    assert rerun.returncode == 0 and "1200 duplicates" in rerun.stderr
    assert rollup_snapshot(sqlite_url, org).total_micro_credits() == 300_000_000


def test_backfill_rejects_an_overflowing_time_and_imports_the_rest(
    sqlite_url: str, tmp_path: Path
) -> None:
    database = Database(sqlite_url)
    document, (org,) = org_document()
    Applier(database, SystemClock()).apply(parse_document(document))
    database.dispose()
    long_ago = datetime.now(UTC) - timedelta(days=120)
    events = [ai_credit(org, long_ago + timedelta(minutes=i), credits=1) for i in range(3)]
    events.insert(1, {**events[0], "id": "far", "time": "9999-12-31T23:59:59-23:59"})
    path = tmp_path / "history.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events))
    result = tallyboard(["backfill", str(path)], TALLYBOARD_DATABASE_URL=sqlite_url)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "3 accepted" in result.stderr and "1 rejected" in result.stderr
    assert (
        "line 2: INVALID_EVENT time: must lie within the years 0001 to 9999 once converted to UTC"
        in result.stderr
    )
    assert rollup_snapshot(sqlite_url, org).total_micro_credits() == 3_000_000
