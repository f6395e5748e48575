"""Reads of the AI-credit rollups and the agent catalog, for several organizations at once.

Amounts are integer micro-credits (exact); conversion to the API's floats happens at
the edge. The combined query reads every organization it has to compute in one pass.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from tallyboard.domain.usage import AiResource
from tallyboard.storage import tables as t

__all__ = ["AgentCredits", "agent_credits", "credits_by_resource"]


@dataclass(frozen=True, slots=True)
class AgentCredits:
    org_pk: int
    agent_id: str
    micro: int
    name: str | None
    """The catalog name; None when the agent is deleted or was never named."""


def credits_by_resource(
    conn: Connection, org_pks: Collection[int], months: Sequence[str]
) -> dict[int, dict[AiResource, int]]:
    """Micro-credits per organization and resource over ``months``."""
    if not org_pks:
        return {}
    ac = t.ai_credits_monthly
    rows = conn.execute(
        select(ac.c.org_pk, ac.c.resource, func.sum(ac.c.credits))
        .where(ac.c.org_pk.in_(sorted(org_pks)), ac.c.month.in_(list(months)))
        .group_by(ac.c.org_pk, ac.c.resource)
    )
    result: dict[int, dict[AiResource, int]] = {}
    for org_pk, resource, micro in rows:
        result.setdefault(org_pk, {})[AiResource(resource)] = int(micro)
    return result


def agent_credits(
    conn: Connection, org_pks: Collection[int], months: Sequence[str]
) -> list[AgentCredits]:
    """AI-automation credits per agent over ``months``, with the agent's current name."""
    if not org_pks:
        return []
    ac, a = t.ai_credits_monthly, t.agents
    usage = (
        select(
            ac.c.org_pk.label("org_pk"),
            ac.c.agent_id.label("agent_id"),
            func.sum(ac.c.credits).label("micro"),
        )
        .where(
            ac.c.org_pk.in_(sorted(org_pks)),
            ac.c.month.in_(list(months)),
            ac.c.resource == int(AiResource.AI_AUTOMATION),
        )
        .group_by(ac.c.org_pk, ac.c.agent_id)
        .subquery()
    )
    rows = conn.execute(
        select(usage.c.org_pk, usage.c.agent_id, usage.c.micro, a.c.name, a.c.deleted)
        .select_from(usage)
        .outerjoin(a, and_(a.c.org_pk == usage.c.org_pk, a.c.agent_id == usage.c.agent_id))
    )
    return [
        AgentCredits(org_pk, agent_id, int(micro), None if deleted else name)
        for org_pk, agent_id, micro, name, deleted in rows
    ]
