"""Alert rules and webhooks in the tenancy document (spec §10): applied atomically,
every problem named by its path, secrets created once, the private-address rule."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from tallyboard.admin.applier import Applier
from tallyboard.admin.draft import read_document
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.errors import InvalidInputError
from tallyboard.storage import alert_store
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.table_rows import snapshot

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
PUBLIC_URL = "https://hooks.example.test/tallyboard"


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def _org_id() -> str:
    return str(uuid.uuid4().int % 10**9)


def _apply(database: Database, document: dict[str, Any], **options: Any) -> Any:
    return Applier(database, FixedClock(NOW), **options).apply(read_document(document))


def _problems(database: Database, document: dict[str, Any], **options: Any) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as caught:
        _apply(database, document, **options)
    return {p.path: p.reason for p in caught.value.problems}


def test_a_webhook_secret_is_created_once_and_a_revoked_one_is_renewed(
    database: Database,
) -> None:
    org = _org_id()
    hook: dict[str, Any] = {
        "name": "billing-alerts",
        "url": PUBLIC_URL,
        "organizations": [org],
        "events": ["usage.threshold_crossed"],
    }
    document: dict[str, Any] = {
        "organizations": [{"id": org, "name": "Hooks"}],
        "webhooks": [hook],
    }
    first: dict[str, list[dict[str, str]]] = _apply(database, document).secrets()
    [created] = first["webhooks"]
    assert created["name"] == "billing-alerts"
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    assert _apply(database, document).secrets()["webhooks"] == []

    document["webhooks"] = [dict(hook, url=PUBLIC_URL + "/v2")]
    result = _apply(database, document)
    assert result.changes["webhooks updated"] == 1 and result.webhooks == []
    with database.read() as conn:
        stored = alert_store.webhooks(conn)["billing-alerts"]
    assert stored.url == PUBLIC_URL + "/v2" and stored.organizations == (org,)
    assert stored.events == ("usage.threshold_crossed",) and stored.secret == created["secret"]

    revoked = _apply(database, {"revoke": {"webhooks": ["billing-alerts"]}})
    assert revoked.changes["webhooks revoked"] == 1
    with database.read() as conn:
        assert alert_store.webhooks(conn, active_only=True) == {}
    renewed = _apply(database, document).secrets()["webhooks"]
    assert [w["name"] for w in renewed] == ["billing-alerts"]
    assert renewed[0]["secret"] != created["secret"]


def test_instance_default_and_overrides_are_stored_as_stated(database: Database) -> None:
    org = _org_id()
    document = {
        "alerts": {"thresholds": [100, 80, 80], "forecast": False},
        "organizations": [{"id": org, "name": "Rules", "alerts": {"thresholds": [50, 120]}}],
    }
    result = _apply(database, document)
    assert result.changes["alert rules written"] == 2
    with database.read() as conn:
        instance, overrides = alert_store.rules(conn)
        pk = conn.execute(
            select(t.organizations.c.pk).where(t.organizations.c.id == org)
        ).scalar_one()
    assert instance == {"thresholds": [80, 100], "forecast": False}
    assert overrides == {pk: {"thresholds": [50, 120]}}
    assert not _apply(database, document).changes


def test_every_problem_is_named_by_its_path_and_nothing_is_written(database: Database) -> None:
    org = _org_id()
    _apply(database, {"organizations": [{"id": org, "name": "Kept"}]})
    before = snapshot(database)
    document = {
        "alerts": {"thresholds": [0, 1001]},
        "organizations": [
            {"id": org, "name": "Kept", "alerts": {"thresholds": list(range(1, 12))}}
        ],
        "webhooks": [
            {"name": "a", "url": "ftp://hooks.example.test/x"},
            {"name": "b", "url": PUBLIC_URL, "events": ["usage.nope"]},
            {"name": "c", "url": "http://127.0.0.1:9/hook"},
            {"name": "d", "url": PUBLIC_URL, "organizations": ["missing-org"]},
            {"name": "d", "url": PUBLIC_URL},
        ],
        "revoke": {"webhooks": ["never-existed"]},
    }
    problems = _problems(database, document)
    assert set(problems) == {
        "alerts.thresholds[0]",
        "alerts.thresholds[1]",
        "organizations[0].alerts.thresholds",
        "webhooks[0].url",
        "webhooks[1].events[0]",
        "webhooks[2].url",
        "webhooks[3].organizations[0]",
        "webhooks[4].name",
        "revoke.webhooks[0]",
    }
    assert "private" in problems["webhooks[2].url"]
    assert "unknown organization" in problems["webhooks[3].organizations[0]"]
    assert snapshot(database) == before


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x",
        "http://localhost:8080/x",
        "https://10.1.2.3/x",
        "http://192.168.0.7/x",
        "http://172.16.5.4/x",
        "http://169.254.169.254/latest",
        "http://0.0.0.0/x",
        "http://[::1]/x",
        "http://[fe80::1]/x",
        "http://[::ffff:10.0.0.1]/x",
    ],
)
def test_private_addresses_are_refused_unless_allowed(database: Database, url: str) -> None:
    document = {"webhooks": [{"name": "probe", "url": url}]}
    assert "webhooks[0].url" in _problems(database, document)
    result = _apply(database, document, allow_private_webhooks=True)
    assert [w["name"] for w in result.webhooks] == ["probe"]
