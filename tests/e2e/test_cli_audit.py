"""``tallyboard audit``: the log from the command line, with the OS user as the actor."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import pytest

from tests.e2e.test_cli import run

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
