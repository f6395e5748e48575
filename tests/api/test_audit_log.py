"""The audit log (section 11): written with each admin action, read newest first in
keyset pages by the instance admin token only, and never holding a secret."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tallyboard.access.admin_tokens import AdminTokens
from tests.support.events import api_call
from tests.support.exports import CREATE_JOBS, CREATE_REPORT, READ_JOBS, READ_REPORT, finished
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.tenant import Tenant
from tests.support.world import populated


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
    _assert_absent_from_the_log(harness, created)


def _assert_absent_from_the_log(harness: Harness, secrets: list[str]) -> None:
    text = harness.http.get(
        "/v1/admin/audit", headers={"Authorization": f"Bearer {harness.admin_token}"}
    ).text
    for secret in secrets:
        assert secret not in text
        assert secret[-12:] not in text


def download(harness: Harness, link: str, *, tamper: bool = False) -> tuple[int, str]:
    """Fetch a signed link (or the same link with its signature's last digit changed):
    the status and the link's signature."""
    parts = urlsplit(link)
    signature = parse_qs(parts.query)["signature"][0]
    query = parts.query
    if tamper:
        query = query[:-1] + ("0" if query[-1] != "0" else "1")
    return harness.http.get(f"{parts.path}?{query}").status_code, signature


def _link(harness: Harness, token: str, query: str, field: str, export_id: str) -> str:
    """The file link of an export once built (the lifespan's builder may take it first)."""
    for _ in range(100):
        harness.services.export_builder.run_once()
        shown = harness.graphql(token, query, {"id": export_id})["data"][field]
        if shown["status"] == "finished":
            return str(shown["fileUrl"])
        time.sleep(0.05)
    raise AssertionError("the export was never built")


def test_exports_are_audited_under_their_principal_without_token_or_link_signature(
    any_harness: Harness,
) -> None:
    harness = any_harness
    world = populated(harness)
    secrets = harness.apply(
        {
            "users": [
                {
                    "email": world.email,
                    "name": "Ann",
                    "memberships": [{"organization": world.org_id, "role": "admin"}],
                    "personalTokens": [{"name": "laptop", "billingOrganization": world.org_id}],
                }
            ]
        }
    )
    personal = secrets["personalTokens"][0]["token"]
    jobs = harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    jobs_id = jobs["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"]
    variables = {"orgs": [world.org], "period": "last_month", "format": "CSV"}
    report = harness.graphql(personal, CREATE_REPORT, variables)
    report_id = report["data"]["createUsageReportExport"]["usageReportExport"]["id"]
    created = _audit(harness, action="export.create")["entries"]
    assert [(e["actor"], e["organization"], e["details"]) for e in created] == [
        (
            {"kind": "personal_token", "name": "Ann - laptop"},
            None,
            {
                "exportId": report_id,
                "kind": "usage_report",
                "format": "CSV",
                "organizationUuids": [world.org],
                "period": "last_month",
            },
        ),
        (
            {"kind": "service_account", "name": "boss"},
            world.org,
            {
                "exportId": jobs_id,
                "kind": "automation_jobs",
                "format": "XLSX",
                "organizationId": world.org_id,
                "period": "current_month",
            },
        ),
    ]

    # Downloads go by signed link, without a bearer token: each is recorded under the
    # principal the link was issued to; a refused link records nothing.
    jobs_link = finished(world, READ_JOBS, "automationJobsExport", jobs_id)["fileUrl"]
    report_link = _link(harness, personal, READ_REPORT, "usageReportExport", report_id)
    assert download(harness, jobs_link, tamper=True)[0] == 403
    jobs_status, jobs_signature = download(harness, jobs_link)
    report_status, report_signature = download(harness, report_link)
    assert (jobs_status, report_status) == (200, 200)
    downloads = _audit(harness, action="export.download")["entries"]
    assert [(e["actor"]["name"], e["organization"]) for e in downloads] == [
        ("Ann - laptop", None),
        ("boss", world.org),
    ]
    assert [e["details"]["exportId"] for e in downloads] == [report_id, jobs_id]
    assert {e["details"]["via"] for e in downloads} == {"signed_link"}
    assert downloads[1]["details"]["fileName"].endswith(".xlsx")
    _assert_absent_from_the_log(harness, [world.boss, personal, jobs_signature, report_signature])


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
