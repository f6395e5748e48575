"""``automationsUsageDetailsCombined`` (spec §9): jobs across 1 to 25 organizations."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.api.graphql.resolvers.shapes import filter_date
from tallyboard.api.graphql.resolvers.usage_details import node, repo, time_of
from tallyboard.stats.inputs import CombinedInput
from tallyboard.stats.usage_details import EntryKind

__all__ = ["bind"]


def resolve_automations_usage_details_combined(
    _: None, info: GraphQLResolveInfo[RequestContext], organizationUuids: list[str], period: str
) -> dict[str, Any]:
    ctx = info.context
    request = CombinedInput.parse(organizationUuids, period, limit=ctx.queries.max_org_uuids)
    result = ctx.queries.automations_combined(
        ctx.principal, request, label="automationsUsageDetailsCombined"
    )
    combined = result.value
    top = []
    for org, row in combined.top:
        shown = node(row, EntryKind.AUTOMATIONS)
        del shown["tags"]
        top.append({**shown, "organizationUuid": org.uuid, "organizationName": org.name})
    return {
        "total": {"usage": combined.usage},
        "byOrganization": [
            {
                "organizationUuid": org.uuid,
                "organizationName": org.name,
                "usage": figures.usage,
                "lastUpdatedAt": time_of(figures.last_job_at),
            }
            for org, figures in combined.rows
        ],
        "byPipe": [
            {
                "pipe": repo(pipe.pipe),
                "organizationUuid": org.uuid,
                "organizationName": org.name,
                "usage": pipe.usage,
                "lastUpdatedAt": time_of(pipe.last_job_at),
            }
            for org, pipe in combined.pipes
        ],
        "topAutomations": top,
        "filterDate": filter_date(result.window),
        "partial": combined.partial,
        "final": result.final,
    }


def bind(query: QueryType) -> None:
    query.set_field("automationsUsageDetailsCombined", resolve_automations_usage_details_combined)
