"""Contract audit of exports (spec §9 "Exports" and its settled details, §11 audit actions):
black-box requests exactly as the contract words them, for rules the export tests leave out.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime
from typing import Any

import pytest

from tests.support.events import ai_credit
from tests.support.exports import (
    CREATE_JOBS,
    READ_JOBS,
    READ_REPORT,
    download,
    finished,
    jobs_file,
    sheet,
)
from tests.support.harness import Harness
from tests.support.world import World, populated

CREATE_REPORT = """mutation Report($orgs: [ID!]!, $period: PeriodFilter!, $format: ExportFormat) {
  createUsageReportExport(input: {organizationUuids: $orgs, period: $period, format: $format}) {
    usageReportExport { id status partial }
  }
}"""
CREATE_JOBS_LAST_MONTH = """mutation {
  createAutomationJobsExport(input: {organizationId: "%s", filter: last_month}) {
    automationJobsExport { id }
  }
}"""


@pytest.fixture
def world(harness: Harness) -> World:
    return populated(harness)


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def _report_rows(
    world: World, orgs: list[str], period: str = "current_month", token: str | None = None
) -> list[list[str]]:
    variables = {"orgs": orgs, "format": "CSV", "period": period}
    answer = world.harness.graphql(token or world.boss, CREATE_REPORT, variables)
    assert "errors" not in answer, answer
    export_id = answer["data"]["createUsageReportExport"]["usageReportExport"]["id"]
    world.harness.services.export_builder.run_once()
    read = world.harness.graphql(token or world.boss, READ_REPORT, {"id": export_id})
    shown = read["data"]["usageReportExport"]
    assert shown["status"] == "finished", read
    text = download(world, shown["fileUrl"]).content.decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def _audit(harness: Harness, action: str) -> list[dict[str, Any]]:
    response = harness.http.get(
        "/v1/admin/audit",
        params={"action": action},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


# ------------------------------------------------------------------------- the principal


def test_any_token_of_the_service_account_or_the_user_reads_its_export(world: World) -> None:
    harness = world.harness
    secrets = harness.apply(
        {
            "users": [
                {
                    "email": f"two-{uuid.uuid4().hex[:6]}@acme.test",
                    "name": "Two",
                    "memberships": [{"organization": world.org_id, "role": "super_admin"}],
                    "personalTokens": [
                        {"name": "laptop", "billingOrganization": world.org_id},
                        {"name": "desktop", "billingOrganization": world.org_id},
                    ],
                }
            ],
            "serviceAccounts": [
                {
                    "organization": world.org_id,
                    "name": "twin",
                    "role": "super_admin",
                    "tokenLifetime": "1h",
                }
            ],
        }
    )
    account = secrets["serviceAccounts"][0]
    first = harness.access_token(account["clientId"], account["clientSecret"])
    second = harness.access_token(account["clientId"], account["clientSecret"])
    assert first != second
    laptop, desktop = (t["token"] for t in secrets["personalTokens"])
    for creator, reader in ((first, second), (laptop, desktop)):
        created = harness.graphql(creator, CREATE_JOBS, {"org": world.org_id})
        export_id = created["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"]
        read = harness.graphql(reader, READ_JOBS, {"id": export_id})
        assert "errors" not in read, read
        assert read["data"]["automationJobsExport"]["id"] == export_id
        # ... and nobody else: the first world's super_admin is another principal.
        other = harness.graphql(world.boss, READ_JOBS, {"id": export_id})
        assert _code(other) == "PERMISSION_DENIED"


# ------------------------------------------------------------------------- the audit log


def test_creating_an_export_is_audited_with_its_principal(world: World) -> None:
    answer = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    assert "errors" not in answer, answer
    entries = _audit(world.harness, "export.create")
    assert len(entries) == 1
    assert entries[0]["actor"] == {"kind": "service_account", "name": "boss"}
    assert entries[0]["organization"] == world.org


def test_downloading_an_export_is_audited(world: World) -> None:
    jobs_file(world)
    assert len(_audit(world.harness, "export.download")) == 1


# ------------------------------------------------------------------------- the files


def test_jobs_export_names_are_the_current_catalog_names(world: World) -> None:
    world.harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "automations": [
                        {"id": "a1", "name": "Renamed", "action": "move_card", "event": "c"},
                        {"id": "a9", "name": "Catalogued", "action": "x", "event": "y"},
                    ],
                }
            ]
        }
    )
    rows = sheet(jobs_file(world), "Automations")
    assert rows[1:] == [("a1", "Renamed", 7), ("a9", "Catalogued", 4), ("a2", "archive cards", 3),
                        ("a8", "a8", 1)]  # fmt: skip
    jobs = sheet(jobs_file(world), "Jobs")
    assert {(r[1], r[2], r[4]) for r in jobs[1:] if r[1] == "a1"} == {("a1", "Renamed", "c")}


def test_the_jobs_export_holds_only_the_period_and_keeps_deleted_names(world: World) -> None:
    rows = sheet(jobs_file(world, CREATE_JOBS_LAST_MONTH % world.org_id), "Jobs")
    assert [(r[0], r[1], r[2], r[7]) for r in rows[1:]] == [
        ("2026-10-20T10:00:00Z", "a4", "Old", 1)
    ]


def test_csv_carries_credits_exactly(world: World) -> None:
    at = datetime(2026, 11, 20, 9, 0)
    world.send([ai_credit(world.org, at, credits=c, agent_name=None) for c in (0.1, 0.2)])
    rows = _report_rows(world, [world.org])
    credits = {r[2]: r[4] for r in rows[1:] if r[3] == "aiCredits"}
    assert credits["2026-11-20"] == "0.3" and credits["total"] == "0.3"


@pytest.fixture
def pair(harness: Harness) -> tuple[World, World]:
    return populated(harness), populated(harness)


def test_report_rows_follow_the_input_order_with_each_months_limit(
    pair: tuple[World, World],
) -> None:
    a, b = pair
    secrets = a.harness.apply(
        {
            "organizations": [
                {
                    "id": a.org_id,
                    "name": "Acme",
                    "settings": [
                        {"effectiveFrom": "2026-10", "allowances": {"automationJobs": 100}},
                        {"effectiveFrom": "2026-11", "allowances": {"automationJobs": 250}},
                    ],
                }
            ],
            "users": [
                {
                    "email": a.email,
                    "name": "Ann",
                    "memberships": [
                        {"organization": a.org_id, "role": "admin"},
                        {"organization": b.org_id, "role": "admin"},
                    ],
                    "personalTokens": [{"name": "t", "billingOrganization": a.org_id}],
                }
            ],
        }
    )
    token = a.harness.personal_tokens(secrets)[f"{a.email}/t"]
    orgs = sorted([a.org, b.org], reverse=True)
    rows = _report_rows(a, orgs, "last_3_months", token)
    assert [r[0] for r in rows[1:]] == [orgs[0]] * 16 + [orgs[1]] * 16
    jobs = [(r[2], r[4], r[5]) for r in rows[1:] if r[0] == a.org and r[3] == "automationJobs"]
    assert jobs == [
        ("2026-09", "0", ""),
        ("2026-10", "1", "100"),
        ("2026-11", "15", "250"),
        ("total", "16", "350"),
    ]


@pytest.mark.parametrize("extra", [26, 25])
def test_report_organization_lists_are_counted_as_sent(world: World, extra: int) -> None:
    orgs = [world.org] * extra
    answer = world.harness.graphql(
        world.boss, CREATE_REPORT, {"orgs": orgs, "period": "current_month"}
    )
    if extra > 25:
        assert _code(answer) == "INVALID_INPUT"
    else:
        assert "errors" not in answer, answer


def test_links_are_on_the_public_url(sqlite_url: str) -> None:
    with Harness(sqlite_url, public_url="https://tally.example.test/") as harness:
        world = populated(harness)
        answer = harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
        export_id = answer["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"]
        shown = finished(world, READ_JOBS, "automationJobsExport", export_id)
        assert shown["fileUrl"].startswith("https://tally.example.test/")
        assert shown["downloadUrl"] == shown["fileUrl"]
        assert download(world, shown["fileUrl"]).status_code == 200


def test_the_csv_is_rfc_4180(world: World) -> None:
    world.harness.apply({"organizations": [{"id": world.org_id, "name": 'Acme, "the" Corp'}]})
    answer = world.harness.graphql(
        world.boss, CREATE_REPORT, {"orgs": [world.org], "format": "CSV", "period": "last_month"}
    )
    export_id = answer["data"]["createUsageReportExport"]["usageReportExport"]["id"]
    shown = finished(world, READ_REPORT, "usageReportExport", export_id)
    content = download(world, shown["fileUrl"]).content
    lines = content.split(b"\r\n")
    assert lines[0] == b"organization_uuid,organization_name,bucket,resource,usage,limit"
    assert lines[1].startswith(f'{world.org},"Acme, ""the"" Corp",2026-10-01,apiCalls,0,'.encode())
    assert lines[-1] == b"" and b"\n" not in content.replace(b"\r\n", b"")


def _uuid_list(count: int) -> str:
    return "[" + ", ".join(f'"{uuid.uuid4()}"' for _ in range(count)) + "]"


def test_the_uuid_budget_covers_the_combined_automation_query(world: World) -> None:
    document = "query { " + " ".join(
        f"c{n}: automationsUsageDetailsCombined(organizationUuids: {_uuid_list(13)}, "
        "period: current_month) { partial }"
        for n in range(2)
    ) + " }"  # fmt: skip
    response = world.harness.graphql_response(world.boss, document)
    assert response.status_code == 400
    assert _code(response.json()) == "QUERY_TOO_COMPLEX"


def test_the_uuid_budget_covers_the_usage_report_mutation(world: World) -> None:
    document = "mutation { " + " ".join(
        f"r{n}: createUsageReportExport(input: {{organizationUuids: {_uuid_list(13)}, "
        "period: current_month}) { usageReportExport { id } }"
        for n in range(2)
    ) + " }"  # fmt: skip
    response = world.harness.graphql_response(world.boss, document)
    assert response.status_code == 400
    assert _code(response.json()) == "QUERY_TOO_COMPLEX"


def test_the_uuid_budget_covers_input_objects_sent_as_variables(world: World) -> None:
    document = """mutation($input: CreateUsageReportExportInput!, $orgs: [ID!]!) {
      a: createUsageReportExport(input: $input) { usageReportExport { id } }
      b: createUsageReportExport(input: {organizationUuids: $orgs, period: current_month}) {
        usageReportExport { id }
      }
    }"""
    report = {"organizationUuids": [world.org] * 13, "period": "current_month"}
    over = {"input": report, "orgs": [world.org] * 13}
    response = world.harness.graphql_response(world.boss, document, over)
    assert response.status_code == 400
    body = response.json()
    assert _code(body) == "QUERY_TOO_COMPLEX"
    assert "26 organization UUIDs" in body["errors"][0]["message"]
    within = world.harness.graphql(world.boss, document, {"input": report, "orgs": [world.org]})
    assert "errors" not in within, within


def test_the_usage_report_mutation_echoes_its_client_mutation_id(world: World) -> None:
    document = """mutation($orgs: [ID!]!) {
      createUsageReportExport(input: {organizationUuids: $orgs, period: last_month,
                                      clientMutationId: "cm-1"}) {
        clientMutationId usageReportExport { status format partial fileUrl downloadUrl }
      }
    }"""
    answer = world.harness.graphql(world.viewer, document, {"orgs": [world.org]})
    assert "errors" not in answer, answer
    assert answer["data"]["createUsageReportExport"] == {
        "clientMutationId": "cm-1",
        "usageReportExport": {
            "status": "created",
            "format": "XLSX",
            "partial": False,
            "fileUrl": None,
            "downloadUrl": None,
        },
    }


def test_finished_exports_free_the_unfinished_allowance(world: World) -> None:
    for _ in range(5):
        answer = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
        assert "errors" not in answer, answer
    refused = world.harness.graphql_response(world.boss, CREATE_JOBS, {"org": world.org_id})
    assert refused.status_code == 429 and _code(refused.json()) == "RATE_LIMITED"
    for _ in range(5):
        world.harness.services.export_builder.run_once()
    again = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    assert "errors" not in again, again
