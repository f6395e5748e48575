"""Reads of the API-call rollups for the statistics queries (never raw events).

Totals and top lists read ``api_calls_monthly`` (every period is whole months), at
most (months x distinct values) rows; daily series read only the total rows of
``api_calls_daily``, at most one row per day (decision 0003). Ties in top lists are
broken by the value in byte order, which both engines use for ``value``.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t

__all__ = ["daily_totals", "top_values", "top_values_many", "totals"]


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


_M = t.api_calls_monthly
_CALLS = func.sum(_M.c.calls)
_TOP_VALUES = (
    select(_M.c.value, _CALLS)
    .where(
        _M.c.org_pk == bindparam("org_pk"),
        _M.c.month.in_(bindparam("months", expanding=True)),
        _M.c.dimension == bindparam("dimension"),
    )
    .group_by(_M.c.value)
    .order_by(_CALLS.desc(), _M.c.value.asc())
    .limit(bindparam("limit"))
)
"""Built once: the statement is the same on every request but for its parameters, and
building it is a measurable share of a cached-document request (docs/benchmarks.md)."""


def top_values(
    conn: Connection, org_pk: int, months: Sequence[str], dimension: ApiDimension, limit: int
) -> list[tuple[str, int]]:
    """The ``limit`` values with the most calls over ``months``; ties by value ascending."""
    rows = conn.execute(
        _TOP_VALUES,
        {"org_pk": org_pk, "months": list(months), "dimension": int(dimension), "limit": limit},
    )
    return [(str(value), int(total)) for value, total in rows]


def top_values_many(
    conn: Connection,
    org_pks: Collection[int],
    months: Sequence[str],
    dimensions: Collection[ApiDimension],
    limit: int,
) -> dict[tuple[int, ApiDimension], list[tuple[str, int]]]:
    """:func:`top_values` for several organizations and dimensions in one statement.

    The combined query needs every organization's top lists at once; one windowed
    statement replaces (organizations x dimensions) round trips. Same order and ties
    as :func:`top_values`; absent (organization, dimension) pairs map to [].
    """
    result: dict[tuple[int, ApiDimension], list[tuple[str, int]]] = {
        (org, dimension): [] for org in org_pks for dimension in dimensions
    }
    if not result:
        return result
    m = t.api_calls_monthly
    calls = func.sum(m.c.calls)
    grouped = (
        select(
            m.c.org_pk.label("org_pk"),
            m.c.dimension.label("dimension"),
            m.c.value.label("value"),
            calls.label("calls"),
            func.row_number()
            .over(partition_by=(m.c.org_pk, m.c.dimension), order_by=(calls.desc(), m.c.value))
            .label("rank"),
        )
        .where(
            m.c.org_pk.in_(sorted(org_pks)),
            m.c.month.in_(list(months)),
            m.c.dimension.in_(sorted(int(d) for d in dimensions)),
        )
        .group_by(m.c.org_pk, m.c.dimension, m.c.value)
        .subquery()
    )
    rows = conn.execute(
        select(grouped.c.org_pk, grouped.c.dimension, grouped.c.value, grouped.c.calls)
        .where(grouped.c.rank <= limit)
        .order_by(grouped.c.org_pk, grouped.c.dimension, grouped.c.rank)
    )
    for org, dimension, value, total in rows:
        result[(int(org), ApiDimension(dimension))].append((str(value), int(total)))
    return result


_D = t.api_calls_daily
_DAILY_TOTALS = select(_D.c.day, _D.c.calls).where(
    _D.c.org_pk == bindparam("org_pk"),
    _D.c.dimension == int(ApiDimension.TOTAL),
    _D.c.day >= bindparam("first_day"),
    _D.c.day <= bindparam("last_day"),
)


def daily_totals(conn: Connection, org_pk: int, first_day: str, last_day: str) -> dict[str, int]:
    """Calls per day (``YYYY-MM-DD``) from ``first_day`` to ``last_day`` inclusive; only days
    with calls are present."""
    rows = conn.execute(
        _DAILY_TOTALS, {"org_pk": org_pk, "first_day": first_day, "last_day": last_day}
    )
    return {str(day): int(calls) for day, calls in rows}
