"""Export mutations and their status fields (spec §9 "Exports"): translation only; the
export service (exports/service.py) validates, authorizes and stores."""

from __future__ import annotations

from typing import Any

from ariadne import MutationType, QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.domain.exports import ExportKind
from tallyboard.exports.inputs import AutomationJobsExportInput, UsageReportExportInput
from tallyboard.exports.service import ExportService, ExportView

__all__ = ["bind"]


def _service(ctx: RequestContext) -> ExportService:
    if ctx.exports is None:  # wired by the composition root in every server
        raise RuntimeError("exports are not configured")
    return ctx.exports


def _shown(view: ExportView, *, report: bool) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": view.id,
        "status": view.status.value,
        "createdAt": view.created_at,
        "finishedAt": view.finished_at,
        "fileUrl": view.file_url,
        "downloadUrl": view.file_url,
        "error": view.error,
    }
    if report:
        shown["format"] = view.format.value
        shown["partial"] = view.partial
    return shown


def resolve_create_automation_jobs_export(
    _: None, info: GraphQLResolveInfo[RequestContext], input: dict[str, Any]
) -> dict[str, Any]:
    ctx = info.context
    request = AutomationJobsExportInput.parse(input["organizationId"], input["filter"])
    view = _service(ctx).create_automation_jobs(ctx.principal, request)
    return {
        "clientMutationId": input.get("clientMutationId"),
        "automationJobsExport": _shown(view, report=False),
    }


def resolve_create_usage_report_export(
    _: None, info: GraphQLResolveInfo[RequestContext], input: dict[str, Any]
) -> dict[str, Any]:
    ctx = info.context
    request = UsageReportExportInput.parse(
        input["organizationUuids"], input["period"], input.get("format")
    )
    view = _service(ctx).create_usage_report(ctx.principal, request)
    return {
        "clientMutationId": input.get("clientMutationId"),
        "usageReportExport": _shown(view, report=True),
    }


def resolve_automation_jobs_export(
    _: None, info: GraphQLResolveInfo[RequestContext], id: str
) -> dict[str, Any]:
    ctx = info.context
    view = _service(ctx).read(ctx.principal, id, ExportKind.AUTOMATION_JOBS)
    return _shown(view, report=False)


def resolve_usage_report_export(
    _: None, info: GraphQLResolveInfo[RequestContext], id: str
) -> dict[str, Any]:
    ctx = info.context
    view = _service(ctx).read(ctx.principal, id, ExportKind.USAGE_REPORT)
    return _shown(view, report=True)


def bind(query: QueryType, mutation: MutationType) -> None:
    query.set_field("automationJobsExport", resolve_automation_jobs_export)
    query.set_field("usageReportExport", resolve_usage_report_export)
    mutation.set_field("createAutomationJobsExport", resolve_create_automation_jobs_export)
    mutation.set_field("createUsageReportExport", resolve_create_usage_report_export)
