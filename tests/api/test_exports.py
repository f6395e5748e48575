"""Export jobs through the API on both engines (spec §9 "Exports"): the mutations, the
status fields, the owner-only reads, the unfinished-exports limit and billing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.exports import CREATE_JOBS
from tests.support.harness import Harness
from tests.support.world import World, populated

CREATE_REPORT = """mutation Report($orgs: [ID!]!, $format: ExportFormat) {
  createUsageReportExport(input: {organizationUuids: $orgs, period: last_3_months,
                                  format: $format}) {
    clientMutationId
    usageReportExport { id status format partial createdAt finishedAt fileUrl error }
  }
}"""
READ_JOBS = """query($id: ID!) {
  automationJobsExport(id: $id) { id status createdAt fileUrl downloadUrl error }
}"""
READ_REPORT = """query($id: ID!) {
  usageReportExport(id: $id) { id status format partial fileUrl }
}"""
CALLS = """query($org: ID!) {
  apiUsageStats(organizationUuid: $org, period: current_month, dimension: operation_name) {
    data { dimension metric }
  }
}"""


@pytest.fixture
def world(any_harness: Harness) -> World:
    return populated(any_harness)


def _create_jobs(world: World, token: str | None = None, **variables: Any) -> Any:
    return world.harness.graphql_response(
        token or world.boss, CREATE_JOBS, {"org": world.org_id, **variables}
    )


def _created_jobs(world: World, **variables: Any) -> dict[str, Any]:
    response = _create_jobs(world, **variables)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]["createAutomationJobsExport"]
    return payload


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


def test_an_automation_jobs_export_is_created_and_read_back_by_its_principal(
    world: World,
) -> None:
    payload = _created_jobs(world, cid="abc")
    assert payload["clientMutationId"] == "abc"
    created = payload["automationJobsExport"]
    assert created["status"] == "created"
    assert created["createdAt"] == "2026-11-21T10:30:00Z"  # the harness clock
    assert created["finishedAt"] is None and created["error"] is None
    assert created["fileUrl"] is None and created["downloadUrl"] is None
    read = world.harness.graphql(world.boss, READ_JOBS, {"id": created["id"]})
    assert "errors" not in read, read
    shown = read["data"]["automationJobsExport"]
    assert shown["id"] == created["id"] and shown["createdAt"] == created["createdAt"]


def test_the_jobs_export_needs_super_admin_and_a_known_organization(world: World) -> None:
    denied = _create_jobs(world, world.viewer).json()
    assert denied["data"] == {"createAutomationJobsExport": None}
    assert _code(denied) == "PERMISSION_DENIED"
    unknown = world.harness.graphql(world.boss, CREATE_JOBS, {"org": "no-such-org"})
    assert _code(unknown) == "PERMISSION_DENIED"


def test_only_the_creator_reads_an_export_and_odd_ids_are_denied_alike(world: World) -> None:
    export_id = _created_jobs(world)["automationJobsExport"]["id"]
    for token, candidate in [
        (world.viewer, export_id),  # someone else's
        (world.boss, "0" * 32),  # unknown
        (world.boss, "not-an-id"),  # malformed
        (world.boss, export_id.upper()),
    ]:
        answer = world.harness.graphql(token, READ_JOBS, {"id": candidate})
        assert answer["data"] == {"automationJobsExport": None}, candidate
        assert _code(answer) == "PERMISSION_DENIED"
    # A jobs export is not a usage report.
    answer = world.harness.graphql(world.boss, READ_REPORT, {"id": export_id})
    assert _code(answer) == "PERMISSION_DENIED"


def test_a_usage_report_export_keeps_its_format(world: World) -> None:
    harness = world.harness
    answer = harness.graphql(world.boss, CREATE_REPORT, {"orgs": [world.org], "format": "CSV"})
    assert "errors" not in answer, answer
    created = answer["data"]["createUsageReportExport"]["usageReportExport"]
    assert created["status"] == "created" and created["format"] == "CSV"
    assert created["partial"] is False and created["fileUrl"] is None
    default = harness.graphql(world.boss, CREATE_REPORT, {"orgs": [world.org]})
    shown = default["data"]["createUsageReportExport"]["usageReportExport"]
    assert shown["format"] == "XLSX"
    read = harness.graphql(world.boss, READ_REPORT, {"id": created["id"]})
    assert read["data"]["usageReportExport"]["format"] == "CSV"


def test_bad_report_input_is_invalid_input(world: World) -> None:
    harness = world.harness
    empty = harness.graphql(world.boss, CREATE_REPORT, {"orgs": []})
    assert _code(empty) == "INVALID_INPUT"
    bad = harness.graphql(world.boss, CREATE_REPORT, {"orgs": ["nope"]})
    assert _code(bad) == "INVALID_INPUT"
    assert bad["errors"][0]["extensions"]["problems"][0]["path"] == "organizationUuids[0]"


def test_at_most_five_unfinished_exports_per_principal(world: World) -> None:
    for _ in range(5):
        _created_jobs(world)
    refused = _create_jobs(world)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    body = refused.json()
    assert body["data"] == {"createAutomationJobsExport": None}
    assert _code(body) == "RATE_LIMITED"
    # Another principal has its own allowance.
    answer = world.harness.graphql(world.boss, CREATE_REPORT, {"orgs": [world.org]})
    assert _code(answer) == "RATE_LIMITED"
    other = world.harness.graphql(world.viewer, CREATE_REPORT, {"orgs": [world.org]})
    assert "errors" not in other, other


def test_creating_an_export_is_a_billable_call(world: World) -> None:
    _created_jobs(world)
    _create_jobs(world, world.viewer)  # denied: not billed
    world.harness.flush()
    answer = world.harness.graphql(world.boss, CALLS, {"org": world.org})
    calls = {i["dimension"]: i["metric"] for i in answer["data"]["apiUsageStats"]["data"]}
    assert calls.get("Jobs") == 1
