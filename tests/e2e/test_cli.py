"""The command line as an operator uses it: real processes, real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.cli import TALLYBOARD, run

pytestmark = pytest.mark.sqlite

DOCUMENT = """
organizations:
  - id: "300123"
    name: Acme Corp
    settings:
      - effectiveFrom: 2026-09
        allowances: {apiCalls: 100000}
serviceAccounts:
  - {organization: "300123", name: HR Integration Bot, role: admin, tokenLifetime: 30d}
ingestKeys:
  - {name: gateway-eu, organization: "300123"}
"""


def test_migrate_apply_twice_and_mint_an_admin_token(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    document = tmp_path / "doc.yaml"
    document.write_text(DOCUMENT)
    refused = run(["admin", "apply", str(document)], db, check=False)
    assert refused.returncode == 1
    assert "tallyboard migrate" in refused.stderr
    assert "Migrated" in run(["migrate"], db).stdout
    assert "up to date" in run(["migrate"], db).stdout

    first = json.loads(run(["admin", "apply", str(document), "--json"], db).stdout)
    assert [a["name"] for a in first["serviceAccounts"]] == ["HR Integration Bot"]
    assert first["serviceAccounts"][0]["clientSecret"].startswith("tb_cs_")
    assert first["ingestKeys"][0]["key"].startswith("tb_ing_")
    second = json.loads(run(["admin", "apply", str(document), "--json"], db).stdout)
    assert second == {
        "serviceAccounts": [],
        "personalTokens": [],
        "ingestKeys": [],
        "webhooks": [],
    }
    assert "No changes" in run(["admin", "apply", str(document)], db).stdout

    token = run(["admin", "token", "create", "--label", "ops"], db).stdout.strip()
    assert token.startswith("tb_adm_")
    run(["admin", "token", "create", "--label", "ci", "--expires-in", "90d"], db)
    listed = run(["admin", "token", "list"], db).stdout.splitlines()
    assert [line.split("\t")[3] for line in listed] == ["ops", "ci"]
    assert listed[0].split("\t")[2] == "active"
    assert listed[1].split("\t")[2].startswith("active until ")
    assert token not in "\n".join(listed)
    assert "Revoked admin token 1." in run(["admin", "token", "revoke", "1"], db).stdout
    assert run(["admin", "token", "list"], db).stdout.split("\t")[2].startswith("revoked ")
    again = run(["admin", "token", "revoke", "1"], db, check=False)
    assert again.returncode == 1
    assert "No active admin token with id 1" in again.stderr
    bad = run(["admin", "token", "create", "--expires-in", "soon"], db, check=False)
    assert bad.returncode == 2
    assert "duration" in bad.stderr


def test_an_invalid_document_lists_every_problem_and_exits_non_zero(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    run(["migrate"], db)
    document = tmp_path / "bad.yaml"
    document.write_text(
        "organizations:\n  - {id: '1'}\nserviceAccounts:\n"
        "  - {organization: '2', name: bot, role: admin, tokenLifetime: 1m}\n"
    )
    result = run(["admin", "apply", str(document), "--json"], db, check=False)
    assert result.returncode == 1
    paths = {p["path"] for p in json.loads(result.stdout)["errors"]}
    # Shape and references in one pass (organization '2' is nowhere).
    assert paths == {
        "organizations[0].name",
        "serviceAccounts[0].tokenLifetime",
        "serviceAccounts[0].organization",
    }
    assert "Traceback" not in result.stderr


def test_serve_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    result = run(["serve", "--port", "0"], tmp_path / "empty.db", check=False)
    assert result.returncode == 1
    assert "tallyboard migrate" in result.stderr


def test_schema_prints_the_served_sdl() -> None:
    result = subprocess.run(
        [*TALLYBOARD, "schema"], capture_output=True, text=True, timeout=60, check=True
    )
    root = Path(__file__).resolve().parents[2]
    assert result.stdout == (root / "schema.graphql").read_text()


def test_bad_configuration_names_the_setting(tmp_path: Path) -> None:
    result = run(["--port", "99999", "migrate"], tmp_path / "x.db", check=False)
    assert result.returncode == 2
    assert "port" in result.stderr
    assert "Traceback" not in result.stderr
