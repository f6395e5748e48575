"""What ``usageAlerts`` and ``usageForecast`` read: one organization's recorded alerts of
some months, and one month's totals (spec §10)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import FIGURES
from tallyboard.storage import alert_tables as at
from tallyboard.storage import tables as t

__all__ = ["StoredAlert", "alerts", "month_totals"]


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: str
    type: str
    resource: str
    month: str
    threshold: int | None
    usage: int
    allowance: int
    projected_usage: int | None
    projected_exhaustion_at: int | None
    created_at: int


def alerts(conn: Connection, org_pk: int, months: Collection[str]) -> list[StoredAlert]:
    """The alerts of ``months``, newest first (recording order, ties by id descending)."""
    a = at.usage_alerts
    query = (
        select(
            a.c.id,
            a.c.type,
            a.c.resource,
            a.c.month,
            a.c.threshold,
            a.c.usage,
            a.c.allowance,
            a.c.projected_usage,
            a.c.projected_exhaustion_at,
            a.c.created_at,
        )
        .where(a.c.org_pk == org_pk, a.c.month.in_(sorted(months)))
        .order_by(a.c.created_at.desc(), a.c.pk.desc())
    )
    return [StoredAlert(**row._mapping) for row in conn.execute(query)]


def month_totals(conn: Connection, org_pk: int, month: str) -> dict[str, int]:
    """The month's totals by figure (calls, tasks, runs, credits); zeros when none."""
    table = t.usage_totals_monthly
    row = conn.execute(
        select(*(table.c[f] for f in FIGURES)).where(
            table.c.org_pk == org_pk, table.c.month == month
        )
    ).first()
    values = tuple(row) if row is not None else (0,) * len(FIGURES)
    return {figure: int(value) for figure, value in zip(FIGURES, values, strict=True)}
