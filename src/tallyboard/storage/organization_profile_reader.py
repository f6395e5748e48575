"""What public clients read with an organization (spec §9): counts and creation time."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t
from tallyboard.storage.tables_automation import pipes

__all__ = ["profile_counts"]


def profile_counts(conn: Connection, org_pk: int) -> tuple[int, int, int]:
    """(users with a membership, catalog pipes, created at in epoch seconds)."""
    members = select(func.count()).where(t.memberships.c.org_pk == org_pk).scalar_subquery()
    pipe_count = select(func.count()).where(pipes.c.org_pk == org_pk).scalar_subquery()
    row = conn.execute(
        select(members, pipe_count, t.organizations.c.created_at).where(
            t.organizations.c.pk == org_pk
        )
    ).one()
    return int(row[0]), int(row[1]), int(row[2])
