"""``tallyboard webhooks deliveries`` and ``redeliver`` on both engines (spec §10)."""

from __future__ import annotations

import uuid
from pathlib import Path

import orjson
from typer.testing import CliRunner

from tallyboard.cli.main import app
from tests.support.deliveries import an_alert_with_a_delivery


def test_deliveries_are_listed_and_requeued(database_url: str) -> None:
    org_uuid = an_alert_with_a_delivery(database_url)
    runner = CliRunner()
    env = {"TALLYBOARD_DATABASE_URL": database_url}
    listed = runner.invoke(app, ["webhooks", "deliveries", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    [delivery] = orjson.loads(listed.stdout)["deliveries"]
    assert delivery["webhook"] == "ops-hook" and delivery["status"] == "pending"
    assert delivery["attempts"] == 0 and delivery["nextAttemptAt"] == "2026-11-21T10:30:00Z"
    empty = runner.invoke(app, ["webhooks", "deliveries", "--status", "failed", "--json"], env=env)
    assert orjson.loads(empty.stdout) == {"deliveries": []}
    table = runner.invoke(app, ["webhooks", "deliveries"], env=env)
    assert table.exit_code == 0 and "ops-hook" in table.stdout

    again = runner.invoke(app, ["webhooks", "redeliver", delivery["alertId"]], env=env)
    assert again.exit_code == 0 and "Queued 1 deliveries" in again.stdout
    unknown = runner.invoke(app, ["webhooks", "redeliver", str(uuid.uuid4())], env=env)
    assert unknown.exit_code == 1
    bad = runner.invoke(app, ["webhooks", "deliveries", "--status", "lost"], env=env)
    assert bad.exit_code == 2
    # The requeue is audited (§11) under the OS user, about the alert's organization; the
    # unknown alert requeued nothing and is not.
    audited = runner.invoke(app, ["audit", "--json", "--action", "webhook.redeliver"], env=env)
    [entry] = orjson.loads(audited.stdout)["entries"]
    assert entry["actor"]["kind"] == "cli" and entry["organization"] == org_uuid
    assert entry["details"] == {"alertId": delivery["alertId"], "deliveries": 1}


def test_admin_apply_shows_a_new_webhook_secret_once(database_url: str, tmp_path: Path) -> None:
    document = tmp_path / "hooks.yaml"
    document.write_text("webhooks:\n  - name: shown\n    url: https://hooks.example.test/x\n")
    runner = CliRunner()
    env = {"TALLYBOARD_DATABASE_URL": database_url}
    first = runner.invoke(app, ["admin", "apply", str(document)], env=env)
    assert first.exit_code == 0, first.output
    assert "webhook shown signing secret: whsec_" in first.stdout
    second = runner.invoke(app, ["admin", "apply", str(document)], env=env)
    assert "whsec_" not in second.stdout
