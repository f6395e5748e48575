"""``tallyboard audit`` and ``tallyboard correct``: real processes, the OS user as actor."""

from __future__ import annotations

import getpass
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.support.cli import run

pytestmark = pytest.mark.sqlite


def test_audit_lists_token_actions_newest_first_as_text_and_json(tmp_path: Path) -> None:
    db = tmp_path / "audit.db"
    run(["migrate"], db)
    token = run(["admin", "token", "create", "--label", "ops"], db).stdout.strip()
    run(["admin", "token", "revoke", "1"], db)
    entries = json.loads(run(["audit", "--json"], db).stdout)["entries"]
    assert [e["action"] for e in entries] == ["admin_token.revoke", "admin_token.create"]
    assert entries[1]["actor"] == {"kind": "cli", "name": getpass.getuser()}
    assert entries[1]["details"]["label"] == "ops"
    only = json.loads(run(["audit", "--json", "--action", "admin_token.revoke"], db).stdout)
    assert [e["details"] for e in only["entries"]] == [{"tokenId": 1}]
    text = run(["audit"], db).stdout
    assert text.count("\n") == 2 and "admin_token.create\tcli:" in text
    assert token not in text and token not in json.dumps(entries)
    refused = run(["audit", "--since", "yesterday"], db, check=False)
    assert refused.returncode == 2 and "since" in refused.stderr


def test_correct_voids_and_adjusts_from_a_file_and_exits_1_on_any_rejection(
    tmp_path: Path,
) -> None:
    db = tmp_path / "correct.db"
    run(["migrate"], db)
    org = str(uuid.uuid4())
    document = tmp_path / "doc.json"
    document.write_text(json.dumps({"organizations": [{"id": "7", "uuid": org, "name": "O"}]}))
    run(["admin", "apply", str(document)], db)
    when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = tmp_path / "events.ndjson"
    event = {"source": "s", "type": "api.call", "time": when, "organization": org}
    events.write_text(
        "\n".join(
            json.dumps({**event, "id": f"e{n}", "data": {"tokenName": "t", "count": 2}})
            for n in range(2)
        )
    )
    run(["ingest", str(events)], db)
    void = {"action": "void", "organization": org, "source": "s", "id": "e0", "reason": "dup"}
    good = tmp_path / "good.json"
    good.write_text(json.dumps([void]))
    assert json.loads(run(["correct", str(good), "--json"], db).stdout) == {
        "applied": 1,
        "unchanged": 0,
        "rejected": [],
    }
    assert "0 applied, 1 unchanged, 0 rejected" in run(["correct", str(good)], db).stdout
    bad = tmp_path / "bad.ndjson"
    bad.write_text(json.dumps(void) + "\n" + json.dumps({**void, "id": "nope"}) + "\n")
    refused = run(["correct", str(bad)], db, check=False)
    assert refused.returncode == 1
    assert "entry 1 (nope): NOT_FOUND" in refused.stderr
    entries = json.loads(run(["audit", "--json", "--action", "correction.void"], db).stdout)
    assert [e["details"]["id"] for e in entries["entries"]] == ["e0"]
    assert entries["entries"][0]["actor"]["kind"] == "cli"


def test_month_close_and_reopen_from_the_command_line(tmp_path: Path) -> None:
    db = tmp_path / "months.db"
    run(["migrate"], db)
    assert run(["month", "close", "2020-01"], db).stdout.strip() == "2020-01 is closed."
    assert run(["month", "reopen", "2020-01"], db).stdout.strip() == "2020-01 is open."
    refused = run(["month", "close", "2999-01"], db, check=False)
    assert refused.returncode == 1 and "month: 2999-01 has not ended" in refused.stderr
    actions = json.loads(run(["audit", "--json"], db).stdout)["entries"]
    assert [(e["action"], e["details"]) for e in actions] == [
        ("month.reopen", {"month": "2020-01"}),
        ("month.close", {"month": "2020-01"}),
    ]


def test_verify_reports_a_damaged_figure_and_repairs_it(tmp_path: Path) -> None:
    db = tmp_path / "verify.db"
    run(["migrate"], db)
    org = str(uuid.uuid4())
    document = tmp_path / "doc.json"
    document.write_text(json.dumps({"organizations": [{"id": "7", "uuid": org, "name": "O"}]}))
    run(["admin", "apply", str(document)], db)
    when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    events = tmp_path / "events.ndjson"
    event = {"id": "e", "source": "s", "type": "api.call", "time": when, "organization": org}
    events.write_text(json.dumps({**event, "data": {"tokenName": "t", "count": 2}}))
    run(["ingest", str(events)], db)
    assert json.loads(run(["verify", "--json"], db).stdout) == {
        "differences": [],
        "unverifiable": [],
    }
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE usage_totals_monthly SET calls = 5")
    found = run(["verify", "--organization", "7", "--json"], db, check=False)
    assert found.returncode == 1
    (difference,) = json.loads(found.stdout)["differences"]
    assert difference == {
        "organization": "7",
        "month": when[:7],
        "figure": f"usage_totals_monthly[{when[:7]}].calls",
        "expected": 2,
        "stored": 5,
    }
    assert run(["verify", "--repair"], db, check=False).returncode == 1
    assert run(["verify"], db).returncode == 0
    unknown = run(["verify", "--organization", "nope"], db, check=False)
    assert unknown.returncode == 2 and "organization" in unknown.stderr
