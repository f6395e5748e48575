"""Rows written straight into the tables for storage-level tests: a bare organization
and an API-call dimension's monthly totals, read back as the rollup writer left them."""

from __future__ import annotations

import uuid

from sqlalchemy import insert, select

from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database

__all__ = ["monthly", "new_org"]


def new_org(database: Database) -> int:
    with database.write() as conn:
        pk = conn.execute(
            insert(t.organizations)
            .values(id=uuid.uuid4().hex[:8], uuid=str(uuid.uuid4()), name="R", created_at=0)
            .returning(t.organizations.c.pk)
        ).scalar_one()
    return int(pk)


def monthly(database: Database, org: int, dimension: ApiDimension) -> dict[str, int]:
    table = t.api_calls_monthly
    with database.read() as conn:
        rows = conn.execute(
            select(table.c.value, table.c.calls).where(
                table.c.org_pk == org, table.c.dimension == int(dimension)
            )
        )
        totals: dict[str, int] = {}
        for value, calls in rows:
            totals[value] = totals.get(value, 0) + calls
        return totals
