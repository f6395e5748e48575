"""Each organization's monthly totals: the guard that keeps every figure within the ceiling.

``usage_totals_monthly`` holds, per organization and month, the calls, tasks, runs and
micro-credits every rollup of that month adds up to, with a CHECK constraint per figure
(``FIGURE_CEILING``, decision 0012). :class:`RollupWriter` adds to it before any other
rollup, in the same transaction, so:

- a write that would take a figure past the ceiling fails as a whole, in the database,
  whichever process wrote before it (PostgreSQL locks the total's row until commit;
  SQLite has one writer at a time) -- no read on the hot path, no race;
- the totals row of every (organization, month) a transaction writes is locked first,
  in key order, so writers cannot deadlock on the rollups behind it.

A delta that alone passes the ceiling is refused here, before any statement, as
:class:`FigureCeilingExceeded`: it would otherwise reach the driver as an integer it
cannot bind (SQLite) or a sum out of ``bigint`` range (PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from sqlalchemy import select, tuple_, update
from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import (
    FIGURE_CEILING,
    FIGURES,
    FigureCeilingExceeded,
    MonthKey,
)
from tallyboard.storage import tables as t
from tallyboard.storage.dialect import StorageDialect

__all__ = ["add", "lock_and_read"]

_KEY = ("org_pk", "month")
_IN_CHUNK = 500


def add(
    conn: Connection, dialect: StorageDialect, totals: Mapping[MonthKey, Sequence[int]]
) -> None:
    """Add ``totals`` (per :data:`FIGURES`); raises when any would pass the ceiling."""
    for (org_pk, month), values in totals.items():
        for figure, value in zip(FIGURES, values, strict=True):
            if value > FIGURE_CEILING:
                raise FigureCeilingExceeded(
                    f"{figure} of organization {org_pk} in {month}: adding {value} "
                    f"passes {FIGURE_CEILING}"
                )
    rows = [(*key, *values) for key, values in sorted(totals.items())]
    if all(value >= 0 for values in totals.values() for value in values):
        dialect.upsert_add(conn, t.usage_totals_monthly, _KEY, FIGURES, rows)
        return
    # A correction takes usage away. Both engines check the row an upsert *proposes*
    # against the CHECK constraints, so the rows are created (zeros) and then updated:
    # a total taken below zero fails its CHECK (section 11's NEGATIVE_USAGE).
    zeros = [(*row[:2], *(0 for _ in FIGURES)) for row in rows]
    dialect.upsert_add(conn, t.usage_totals_monthly, _KEY, FIGURES, zeros)
    table = t.usage_totals_monthly
    for (org_pk, month), added in sorted(totals.items()):
        conn.execute(
            update(table)
            .where(table.c.org_pk == org_pk, table.c.month == month)
            .values({f: table.c[f] + v for f, v in zip(FIGURES, added, strict=True) if v})
        )


def lock_and_read(
    conn: Connection, dialect: StorageDialect, keys: Collection[MonthKey]
) -> dict[MonthKey, tuple[int, ...]]:
    """The current totals of ``keys``, locked until the transaction ends: nobody else
    can add to them meanwhile, so what fits now still fits at commit."""
    add(conn, dialect, dict.fromkeys(keys, (0,) * len(FIGURES)))  # creates and locks them
    table = t.usage_totals_monthly
    ordered = sorted(keys)
    found: dict[MonthKey, tuple[int, ...]] = {}
    for start in range(0, len(ordered), _IN_CHUNK):
        chunk = ordered[start : start + _IN_CHUNK]
        query = select(
            table.c.org_pk, table.c.month, *(table.c[figure] for figure in FIGURES)
        ).where(tuple_(table.c.org_pk, table.c.month).in_(chunk))
        for org_pk, month, *values in conn.execute(query):
            found[(org_pk, month)] = tuple(int(v) for v in values)
    return found
