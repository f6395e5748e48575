"""``organization`` and ``myUsageStatsOrganizations``."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.domain.organization import OrgRef

__all__ = ["bind", "organization_dict"]


def organization_dict(org: OrgRef) -> dict[str, Any]:
    return {"id": org.id, "uuid": org.uuid, "name": org.name}


def resolve_organization(
    _: None, info: GraphQLResolveInfo[RequestContext], id: str
) -> dict[str, Any]:
    ctx = info.context
    return organization_dict(ctx.queries.organization(ctx.principal, id))


def resolve_my_usage_stats_organizations(
    _: None, info: GraphQLResolveInfo[RequestContext]
) -> list[dict[str, Any]]:
    ctx = info.context
    orgs = ctx.queries.usage_stats_organizations(ctx.principal)
    return [organization_dict(org) for org in orgs]


def bind(query: QueryType) -> None:
    query.set_field("organization", resolve_organization)
    query.set_field("myUsageStatsOrganizations", resolve_my_usage_stats_organizations)
