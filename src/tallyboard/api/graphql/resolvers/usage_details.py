"""``automationsUsageDetails`` and ``agentsUsageDetails`` (spec §9).

The root field parses its arguments (one ``INVALID_INPUT`` for every problem), is
authorized and reads the listing; the connection field (``automations(first, after)``
/ ``agents(first, after)``) parses its own arguments against the listing's cursor
binding and cuts the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.domain.credits import micro_to_float
from tallyboard.stats.entry_listing import EntryRow, Pipe
from tallyboard.stats.usage_details import EntryKind, UsageDetails
from tallyboard.stats.usage_details_input import PageInput, UsageDetailsInput

__all__ = ["bind", "node", "repo", "time_of"]

_LISTING = "_listing"
_KINDS = {
    "automationsUsageDetails": EntryKind.AUTOMATIONS,
    "agentsUsageDetails": EntryKind.AGENTS,
}


def time_of(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


def repo(pipe: Pipe | None) -> dict[str, Any] | None:
    if pipe is None:
        return None
    return {"uuid": pipe.uuid, "name": pipe.name, "icon": pipe.icon, "color": pipe.color}


def node(row: EntryRow, kind: EntryKind) -> dict[str, Any]:
    creator = None
    if row.created_by is not None:
        creator = {"id": row.created_by[0], "name": row.created_by[1], "avatarUrl": None}
    return {
        "id": row.id,
        "name": row.name,
        "usage": micro_to_float(row.usage) if kind is EntryKind.AGENTS else row.usage,
        "action": row.action,
        "event": row.event,
        "status": row.status,
        "actionRepo": repo(row.action_pipe),
        "eventRepo": repo(row.event_pipe),
        "createdAt": time_of(row.created_at),
        "createdBy": creator,
        "updatedAt": time_of(row.updated_at),
        "tags": [{"name": tag} for tag in row.tags],
    }


def resolve_usage_details(
    _: None,
    info: GraphQLResolveInfo[RequestContext],
    organizationUuid: str,
    filterDate: dict[str, Any],
    search: str | None = None,
    filters: dict[str, Any] | None = None,
    sort: dict[str, Any] | None = None,
) -> dict[str, Any]:
    ctx = info.context
    kind = _KINDS[info.field_name]
    request = UsageDetailsInput.parse(
        organizationUuid,
        filterDate,
        search=search,
        filters=filters,
        sort=sort,
        now=ctx.queries.clock.now(),
    )
    result = ctx.queries.usage_details(ctx.principal, request, kind, label=info.field_name)
    details = result.details
    available = details.available
    return {
        _LISTING: (details, kind),
        "usage": micro_to_float(details.usage) if kind is EntryKind.AGENTS else details.usage,
        "filterDate": {"from": details.days.start, "to": details.days.end},
        "final": result.final,
        "availableFilters": {
            "action": list(available.action),
            "event": list(available.event),
            "pipes": [{"uuid": uuid, "name": name} for uuid, name in available.pipes],
            "status": list(available.status),
            "tags": list(available.tags),
        },
    }


def resolve_connection(
    parent: dict[str, Any],
    info: GraphQLResolveInfo[RequestContext],
    first: int | None = None,
    after: str | None = None,
) -> dict[str, Any]:
    ctx = info.context
    details: UsageDetails
    details, kind = parent[_LISTING]
    request = PageInput.parse(
        first, after, binding=details.request.binding, cursors=ctx.queries.cursors
    )
    found = ctx.queries.usage_page(details, request)
    nodes = [node(row, kind) for row in found.page.rows]
    cursors = found.cursors
    return {
        "totalCount": details.total_count,
        "edges": [{"cursor": c, "node": n} for c, n in zip(cursors, nodes, strict=True)],
        "nodes": nodes,
        "pageInfo": {
            "hasNextPage": found.page.has_next,
            "hasPreviousPage": found.page.has_previous,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


_automations = ObjectType("AutomationsUsageDetails")
_automations.set_field("automations", resolve_connection)
_agents = ObjectType("AgentsUsageDetails")
_agents.set_field("agents", resolve_connection)


def bind(query: QueryType) -> list[ObjectType]:
    """Bind the root fields; returns the object types the schema must also bind."""
    for field in _KINDS:
        query.set_field(field, resolve_usage_details)
    return [_automations, _agents]
