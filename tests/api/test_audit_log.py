"""The audit log (section 11): written with each admin action, read newest first in
keyset pages by the instance admin token only, and never holding a secret."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tallyboard.access.admin_tokens import AdminTokens
from tests.api.test_ingest import Tenant
from tests.support.events import api_call
from tests.support.harness import DEFAULT_NOW, Harness


def _audit(harness: Harness, **params: Any) -> Any:
    response = harness.http.get(
        "/v1/admin/audit",
        params=params,
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.json()


def _document(org: str) -> dict[str, Any]:
    return {
        "organizations": [{"id": org, "name": "Audited"}],
        "users": [
            {
                "email": f"u{org}@example.test",
                "name": "U",
                "memberships": [{"organization": org, "role": "admin"}],
                "personalTokens": [{"name": "laptop", "billingOrganization": org}],
            }
        ],
        "serviceAccounts": [
            {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
        ],
        "ingestKeys": [{"name": f"key-{org}", "organization": org}],
    }


def test_every_admin_action_is_audited_and_no_secret_ever_appears(
    any_harness: Harness,
) -> None:
    harness = any_harness
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(_document(org))
    tokens = AdminTokens(harness.services.database, harness.clock)
    minted = tokens.mint("ops", lifetime_seconds=3600)
    listed = {view.label: view.pk for view in tokens.tokens()}
    assert tokens.revoke(listed["ops"])
    harness.apply(_document(org))  # unchanged: nothing happened, nothing is audited
    harness.apply({"organizations": [{"id": org, "name": "Renamed"}]})

    entries = _audit(harness)["entries"]
    assert [e["action"] for e in entries] == [
        "apply",
        "admin_token.revoke",
        "admin_token.create",
        "apply",
    ]
    first_apply = entries[-1]
    assert first_apply["actor"] == {"kind": "admin_token", "name": "tests"}
    assert first_apply["organization"] is None
    assert first_apply["at"] == "2026-11-21T10:30:00Z"
    assert first_apply["details"]["changes"]["organizations created"] == 1
    assert first_apply["details"]["serviceAccounts"] == [{"organization": org, "name": "bot"}]
    assert entries[2]["details"] == {
        "tokenId": listed["ops"],
        "label": "ops",
        "expiresAt": "2026-11-21T11:30:00Z",
    }
    assert entries[2]["actor"]["kind"] == "cli"
    assert entries[1]["details"] == {"tokenId": listed["ops"]}
    assert entries[0]["details"]["changes"] == {"organizations updated": 1}
    ids = [e["id"] for e in entries]
    assert len(set(ids)) == 4

    created = [
        minted,
        harness.admin_token,
        *(a["clientSecret"] for a in secrets["serviceAccounts"]),
        *(a["clientId"] for a in secrets["serviceAccounts"]),
        *(t["token"] for t in secrets["personalTokens"]),
        *(k["key"] for k in secrets["ingestKeys"]),
    ]
    assert len(created) == 6
    text = harness.http.get(
        "/v1/admin/audit", headers={"Authorization": f"Bearer {harness.admin_token}"}
    ).text
    for secret in created:
        assert secret not in text
        assert secret[-12:] not in text


def test_keyset_pages_newest_first_with_filters(harness: Harness) -> None:
    tokens = AdminTokens(harness.services.database, harness.clock)
    for n in range(5):
        harness.clock.set(DEFAULT_NOW + timedelta(minutes=n))
        tokens.mint(f"t{n}")
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"first": 2, "action": "admin_token.create"}
        if after:
            params["after"] = after
        page = _audit(harness, **params)
        seen += [e["details"]["label"] for e in page["entries"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["t4", "t3", "t2", "t1", "t0"]
    since = _audit(harness, since="2026-11-21T10:33:00Z")["entries"]
    assert [e["details"]["label"] for e in since] == ["t4", "t3"]
    assert _audit(harness, action="month.close") == {
        "entries": [],
        "pageInfo": {"hasNextPage": False, "endCursor": None},
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"first": "0"}, "first"),
        ({"first": "101"}, "first"),
        ({"first": "x"}, "first"),
        ({"since": "yesterday"}, "since"),
        ({"action": "nope"}, "action"),
        ({"after": "garbage"}, "after"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(
    harness: Harness, params: dict[str, str], field: str
) -> None:
    response = harness.http.get(
        "/v1/admin/audit", params=params, headers={"Authorization": f"Bearer {harness.admin_token}"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    assert field in error["message"]


def test_the_audit_log_refuses_every_other_credential(harness: Harness) -> None:
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(_document(org))
    access = harness.service_account_tokens(secrets)["bot"]
    personal = secrets["personalTokens"][0]["token"]
    ingest = secrets["ingestKeys"][0]["key"]
    for credential in (None, access, personal, ingest, "tb_adm_nope"):
        headers = {"Authorization": f"Bearer {credential}"} if credential else {}
        response = harness.http.get("/v1/admin/audit", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_a_backfill_is_audited_with_its_counts(any_harness: Harness) -> None:
    harness = any_harness
    tenant = Tenant(harness)
    at = DEFAULT_NOW - timedelta(days=100)
    events = [
        api_call(tenant.org, at, event_id="b1"),
        api_call(tenant.org, at, event_id="b2"),
        {"id": "broken"},
    ]
    headers = {"Authorization": f"Bearer {harness.admin_token}"}
    assert harness.http.post("/v1/admin/backfill", json=events, headers=headers).status_code == 200
    events[1] = api_call(tenant.org, at, event_id="b2", count=9)  # a conflict now
    harness.http.post("/v1/admin/backfill", json=events, headers=headers)
    entries = _audit(harness, action="backfill")["entries"]
    assert [e["details"] for e in entries] == [
        {"received": 3, "accepted": 0, "duplicates": 1, "rejected": 2},
        {"received": 3, "accepted": 2, "duplicates": 0, "rejected": 1},
    ]
    assert {e["actor"]["kind"] for e in entries} == {"admin_token"}
