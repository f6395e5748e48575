"""Export jobs as a client drives them (spec §9 "Exports"): the mutations and reads,
waiting for the builder, downloading the link and opening the workbook -- shared by
the export, audit and contract tests."""

from __future__ import annotations

import io
import time
from typing import Any
from urllib.parse import urlsplit

import openpyxl

from tests.support.world import World

__all__ = [
    "CREATE_JOBS",
    "CREATE_REPORT",
    "READ_JOBS",
    "READ_REPORT",
    "download",
    "finished",
    "jobs_export",
    "jobs_file",
    "report",
    "sheet",
]

CREATE_JOBS = """mutation Jobs($org: ID!, $cid: String) {
  createAutomationJobsExport(input: {organizationId: $org, filter: current_month,
                                     clientMutationId: $cid}) {
    clientMutationId
    automationJobsExport { id status createdAt finishedAt fileUrl downloadUrl error }
  }
}"""
CREATE_REPORT = """mutation Report($orgs: [ID!]!, $period: PeriodFilter!, $format: ExportFormat) {
  createUsageReportExport(input: {organizationUuids: $orgs, period: $period, format: $format}) {
    usageReportExport { id }
  }
}"""
READ_JOBS = """query($id: ID!) {
  automationJobsExport(id: $id) { id status finishedAt fileUrl downloadUrl error }
}"""
READ_REPORT = """query($id: ID!) {
  usageReportExport(id: $id) { id status format partial finishedAt fileUrl downloadUrl error }
}"""


def finished(world: World, query: str, field: str, export_id: str) -> dict[str, Any]:
    """The export once built (the lifespan's builder may take it first)."""
    for _ in range(100):
        world.harness.services.export_builder.run_once()
        answer = world.harness.graphql(world.boss, query, {"id": export_id})
        assert "errors" not in answer, answer
        shown: dict[str, Any] = answer["data"][field]
        if shown["status"] not in ("created", "processing"):
            return shown
        time.sleep(0.05)
    raise AssertionError("the export was never built")


def download(world: World, link: str) -> Any:
    parts = urlsplit(link)
    return world.harness.http.get(f"{parts.path}?{parts.query}")


def jobs_export(world: World) -> dict[str, Any]:
    answer = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    export_id = answer["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"]
    return finished(world, READ_JOBS, "automationJobsExport", export_id)


def report(
    world: World, orgs: list[str], file_format: str, period: str = "current_month"
) -> dict[str, Any]:
    variables = {"orgs": orgs, "format": file_format, "period": period}
    answer = world.harness.graphql(world.boss, CREATE_REPORT, variables)
    assert "errors" not in answer, answer
    export_id = answer["data"]["createUsageReportExport"]["usageReportExport"]["id"]
    return finished(world, READ_REPORT, "usageReportExport", export_id)


def sheet(content: bytes, name: str) -> list[tuple[Any, ...]]:
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [tuple(row) for row in workbook[name].iter_rows(values_only=True)]


def jobs_file(world: World, document: str | None = None) -> bytes:
    if document is None:
        answer = world.harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
    else:
        answer = world.harness.graphql(world.boss, document)
    assert "errors" not in answer, answer
    export_id = answer["data"]["createAutomationJobsExport"]["automationJobsExport"]["id"]
    shown = finished(world, READ_JOBS, "automationJobsExport", export_id)
    response = download(world, shown["fileUrl"])
    assert response.status_code == 200
    content: bytes = response.content
    return content
