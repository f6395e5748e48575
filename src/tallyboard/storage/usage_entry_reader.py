"""SQL of the automation and agent listings (spec §9): the catalog and usage per entry.

Usage over a day range reads the daily rollups (at most days x entries rows: jobs per
automation, micro-credits per AI-automation agent), whatever the number of jobs or
credits behind them (decision 0003). The catalog rows, the organization's pipes and
the creators' names are read whole: a listing needs every entry to filter and order.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import Enum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tallyboard.domain.usage import AiResource
from tallyboard.storage import tables as t
from tallyboard.storage.tables_automation import (
    automation_jobs_daily,
    automation_jobs_monthly,
    automations,
    pipes,
)

__all__ = ["EntryKind", "catalog", "creator_names", "monthly_jobs", "pipes_of", "usage"]


class EntryKind(Enum):
    AUTOMATIONS = "automations"
    AGENTS = "agents"


_COLUMNS = (
    "name",
    "deleted",
    "action",
    "event",
    "status",
    "action_pipe",
    "event_pipe",
    "tags",
    "created_by",
    "created_at",
    "first_event_at",
    "updated_at",
)


def catalog(conn: Connection, kind: EntryKind, org_pk: int) -> dict[str, dict[str, Any]]:
    """Every catalog entry of the organization, by id."""
    table = automations if kind is EntryKind.AUTOMATIONS else t.agents
    key = table.c.automation_id if kind is EntryKind.AUTOMATIONS else table.c.agent_id
    query = select(key.label("id"), *(table.c[c] for c in _COLUMNS)).where(table.c.org_pk == org_pk)
    return {row["id"]: dict(row) for row in conn.execute(query).mappings()}


def usage(
    conn: Connection, kind: EntryKind, org_pk: int, first_day: str, last_day: str
) -> dict[str, int]:
    """Jobs (automations) or micro-credits (agents) per entry over the days, inclusive."""
    if kind is EntryKind.AUTOMATIONS:
        table = automation_jobs_daily
        query = (
            select(table.c.automation_id, func.sum(table.c.jobs))
            .where(table.c.org_pk == org_pk, table.c.day.between(first_day, last_day))
            .group_by(table.c.automation_id)
        )
    else:
        credits = t.ai_credits_daily
        query = (
            select(credits.c.agent_id, func.sum(credits.c.credits))
            .where(
                credits.c.org_pk == org_pk,
                credits.c.resource == int(AiResource.AI_AUTOMATION),
                credits.c.day.between(first_day, last_day),
            )
            .group_by(credits.c.agent_id)
        )
    return {entry: int(total) for entry, total in conn.execute(query)}


def monthly_jobs(conn: Connection, org_pk: int, months: list[str]) -> dict[str, tuple[int, int]]:
    """automation id -> (jobs, latest job's epoch ms) over whole months (periods)."""
    table = automation_jobs_monthly
    query = (
        select(table.c.automation_id, func.sum(table.c.jobs), func.max(table.c.last_job_at))
        .where(table.c.org_pk == org_pk, table.c.month.in_(months))
        .group_by(table.c.automation_id)
    )
    return {entry: (int(jobs), int(last)) for entry, jobs, last in conn.execute(query)}


def pipes_of(conn: Connection, org_pk: int) -> dict[str, tuple[str, str, str | None, str | None]]:
    """pipe id -> (uuid, name, icon, color)."""
    query = select(pipes.c.pipe_id, pipes.c.uuid, pipes.c.name, pipes.c.icon, pipes.c.color).where(
        pipes.c.org_pk == org_pk
    )
    return {
        pipe_id: (u, name, icon, color) for pipe_id, u, name, icon, color in conn.execute(query)
    }


def creator_names(conn: Connection, emails: Collection[str]) -> dict[str, str]:
    """e-mail -> the user's name."""
    if not emails:
        return {}
    u = t.users
    rows = conn.execute(select(u.c.email, u.c.name).where(u.c.email.in_(sorted(emails))))
    return {str(email): str(name) for email, name in rows}
