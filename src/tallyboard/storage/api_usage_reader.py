"""Reads of the API-call rollups for the statistics queries (never raw events).

Totals and top lists read ``api_calls_monthly`` (every period is whole months), at
most (months x distinct values) rows; daily series read only the total rows of
``api_calls_daily``, at most one row per day (decision 0003). Ties in top lists are
broken by the value in byte order, which both engines use for ``value``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t

__all__ = ["daily_totals", "top_values", "totals"]


def totals(conn: Connection, org_pks: Collection[int], months: Sequence[str]) -> dict[int, int]:
    """Calls per organization over ``months`` (``YYYY-MM``); absent organizations made 0."""
    if not org_pks:
        return {}
    m = t.api_calls_monthly
    rows = conn.execute(
        select(m.c.org_pk, func.sum(m.c.calls))
        .where(
            m.c.org_pk.in_(sorted(org_pks)),
            m.c.month.in_(list(months)),
            m.c.dimension == int(ApiDimension.TOTAL),
        )
        .group_by(m.c.org_pk)
    )
    found = {int(org): int(calls) for org, calls in rows}
    return {org: found.get(org, 0) for org in org_pks}


def top_values(
    conn: Connection, org_pk: int, months: Sequence[str], dimension: ApiDimension, limit: int
) -> list[tuple[str, int]]:
    """The ``limit`` values with the most calls over ``months``; ties by value ascending."""
    m = t.api_calls_monthly
    calls = func.sum(m.c.calls)
    rows = conn.execute(
        select(m.c.value, calls)
        .where(
            m.c.org_pk == org_pk,
            m.c.month.in_(list(months)),
            m.c.dimension == int(dimension),
        )
        .group_by(m.c.value)
        .order_by(calls.desc(), m.c.value.asc())
        .limit(limit)
    )
    return [(str(value), int(total)) for value, total in rows]


def daily_totals(conn: Connection, org_pk: int, first_day: str, last_day: str) -> dict[str, int]:
    """Calls per day (``YYYY-MM-DD``) from ``first_day`` to ``last_day`` inclusive; only days
    with calls are present."""
    d = t.api_calls_daily
    rows = conn.execute(
        select(d.c.day, d.c.calls).where(
            d.c.org_pk == org_pk,
            d.c.dimension == int(ApiDimension.TOTAL),
            d.c.day >= first_day,
            d.c.day <= last_day,
        )
    )
    return {str(day): int(calls) for day, calls in rows}
