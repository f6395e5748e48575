"""Contract audit of the §10 / §11 operator surfaces (the audit log's actions and paging):
black-box requests exactly as the contract words them, for rules the other tests leave out.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import orjson
from typer.testing import CliRunner

from tallyboard.access.admin_tokens import AdminTokens
from tallyboard.cli.main import app
from tests.support.deliveries import an_alert_with_a_delivery
from tests.support.harness import DEFAULT_NOW, Harness


def _audit(harness: Harness, **params: Any) -> dict[str, Any]:
    response = harness.http.get(
        "/v1/admin/audit",
        params=params,
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_audit_pages_hold_50_entries_by_default_each_with_the_contracts_fields(
    harness: Harness,
) -> None:
    tokens = AdminTokens(harness.services.database, harness.clock)
    for n in range(52):
        harness.clock.set(DEFAULT_NOW + timedelta(seconds=n))
        tokens.mint(f"t{n}")
    page = _audit(harness, action="admin_token.create")
    assert len(page["entries"]) == 50 and page["pageInfo"]["hasNextPage"] is True
    rest = _audit(harness, action="admin_token.create", after=page["pageInfo"]["endCursor"])
    assert len(rest["entries"]) == 2 and rest["pageInfo"]["hasNextPage"] is False
    entry = page["entries"][0]
    assert set(entry) == {"id", "at", "actor", "action", "organization", "details"}
    assert set(entry["actor"]) == {"kind", "name"} and entry["organization"] is None
    assert entry["at"] == "2026-11-21T10:30:51Z"


def test_a_redelivery_is_audited(sqlite_url: str) -> None:
    an_alert_with_a_delivery(sqlite_url)
    runner = CliRunner()
    env = {"TALLYBOARD_DATABASE_URL": sqlite_url}
    listed = runner.invoke(app, ["webhooks", "deliveries", "--json"], env=env)
    [delivery] = orjson.loads(listed.stdout)["deliveries"]
    again = runner.invoke(app, ["webhooks", "redeliver", delivery["alertId"]], env=env)
    assert again.exit_code == 0, again.output
    audited = runner.invoke(app, ["audit", "--json", "--action", "webhook.redeliver"], env=env)
    assert audited.exit_code == 0, audited.output
    entries = orjson.loads(audited.stdout)["entries"]
    assert [e["actor"]["kind"] for e in entries] == ["cli"]
