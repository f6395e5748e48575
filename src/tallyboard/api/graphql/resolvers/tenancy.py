"""``organization`` and ``myUsageStatsOrganizations``."""

from __future__ import annotations

from typing import Any

from ariadne import QueryType
from graphql import GraphQLResolveInfo

from tallyboard.access.policy import Action
from tallyboard.api.context import RequestContext
from tallyboard.domain.errors import PermissionDeniedError
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.text import character_problem

__all__ = ["bind", "organization_dict"]


def organization_dict(org: OrgRef) -> dict[str, Any]:
    return {"id": org.id, "uuid": org.uuid, "name": org.name}


def resolve_organization(
    _: None, info: GraphQLResolveInfo[RequestContext], id: str
) -> dict[str, Any]:
    ctx = info.context
    if character_problem(id) is not None:
        # No organization can have such an id (domain/text.py): answer as for any
        # unknown one, without asking the database (PostgreSQL refuses NUL).
        raise PermissionDeniedError
    org = ctx.queries.policy.require_by_id(ctx.principal, Action.VIEW_ORGANIZATION, id)
    return organization_dict(org)


def resolve_my_usage_stats_organizations(
    _: None, info: GraphQLResolveInfo[RequestContext]
) -> list[dict[str, Any]]:
    ctx = info.context
    orgs = ctx.queries.policy.all_permitted(ctx.principal, Action.VIEW_USAGE_STATS)
    return [organization_dict(org) for org in orgs]


def bind(query: QueryType) -> None:
    query.set_field("organization", resolve_organization)
    query.set_field("myUsageStatsOrganizations", resolve_my_usage_stats_organizations)
