"""``organization`` and ``myUsageStatsOrganizations``."""

from __future__ import annotations

from typing import Any

from ariadne import ObjectType, QueryType
from graphql import GraphQLResolveInfo

from tallyboard.api.context import RequestContext
from tallyboard.domain.organization import OrgRef

__all__ = ["bind", "organization_dict", "organization_type"]


def organization_dict(org: OrgRef) -> dict[str, Any]:
    return {"id": org.id, "uuid": org.uuid, "name": org.name, _ORG: org}


_ORG = "_org"
_PROFILE = "_profile"


def _profile(parent: dict[str, Any], info: GraphQLResolveInfo[RequestContext]) -> Any:
    """Read once per organization object, and only when one of its fields is selected."""
    if _PROFILE not in parent:
        ctx = info.context
        parent[_PROFILE] = ctx.queries.organization_profile(ctx.principal, parent[_ORG])
    return parent[_PROFILE]


def _field(attribute: str) -> Any:
    def resolve(parent: dict[str, Any], info: GraphQLResolveInfo[RequestContext]) -> Any:
        return getattr(_profile(parent, info), attribute)

    return resolve


organization_type = ObjectType("Organization")
for _name, _attribute in (
    ("planName", "plan_name"),
    ("role", "role"),
    ("membersCount", "members_count"),
    ("pipesCount", "pipes_count"),
    ("createdAt", "created_at"),
):
    organization_type.set_field(_name, _field(_attribute))


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


def bind(query: QueryType) -> list[ObjectType]:
    query.set_field("organization", resolve_organization)
    query.set_field("myUsageStatsOrganizations", resolve_my_usage_stats_organizations)
    return [organization_type]
