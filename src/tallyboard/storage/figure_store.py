"""Every stored figure of one organization-month, read and rewritten (``verify``).

A figure is ``(table, key, column) -> value``, the key being the row's key without the
organization (``(day, dimension, value)`` for ``api_calls_daily``, ``(month,)`` for
``usage_totals_monthly``, ...). Rewriting replaces whole rows: a row none of whose
figures should exist is deleted, and a row the ledger adds to is written even when its
figures add up to zero -- a zero-credit run keeps its row, and the statistics show it
(``topAgents`` ranks the agent at 0), as the rollup writer and corrections keep it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sqlalchemy import Table, and_, delete, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from tallyboard.domain.rollup import FIGURES
from tallyboard.storage import tables as t
from tallyboard.storage.tables_automation import automation_jobs_daily, automation_jobs_monthly

__all__ = [
    "FIGURE_TABLES",
    "Figure",
    "months_with_figures",
    "organizations",
    "read_figures",
    "write_rows",
]

Figure = tuple[str, tuple[object, ...], str]

FIGURE_TABLES: dict[str, tuple[Table, tuple[str, ...], tuple[str, ...]]] = {
    # name: (table, key columns after org_pk -- the first is the day or month, figures)
    "api_calls_daily": (t.api_calls_daily, ("day", "dimension", "value"), ("calls",)),
    "api_calls_monthly": (t.api_calls_monthly, ("month", "dimension", "value"), ("calls",)),
    "flow_usage_daily": (
        t.flow_usage_daily,
        ("day", "flow_id"),
        ("tasks", "runs", "last_run_at"),
    ),
    "flow_usage_monthly": (
        t.flow_usage_monthly,
        ("month", "flow_id"),
        ("tasks", "runs", "last_run_at"),
    ),
    "task_usage_daily": (t.task_usage_daily, ("day",), ("tasks", "runs")),
    "ai_credits_daily": (t.ai_credits_daily, ("day", "resource", "agent_id"), ("credits",)),
    "ai_credits_monthly": (t.ai_credits_monthly, ("month", "resource", "agent_id"), ("credits",)),
    "automation_jobs_daily": (
        automation_jobs_daily,
        ("day", "automation_id"),
        ("jobs", "last_job_at"),
    ),
    "automation_jobs_monthly": (
        automation_jobs_monthly,
        ("month", "automation_id"),
        ("jobs", "last_job_at"),
    ),
    "usage_totals_monthly": (t.usage_totals_monthly, ("month",), FIGURES),
}


def _in_month(table: Table, bucket: str, month: str) -> ColumnElement[bool]:
    if bucket == "month":
        return table.c.month == month
    return and_(table.c.day >= f"{month}-01", table.c.day <= f"{month}-31")


def read_figures(conn: Connection, org_pk: int, month: str) -> dict[Figure, int]:
    figures: dict[Figure, int] = {}
    for name, (table, keys, columns) in FIGURE_TABLES.items():
        query = select(*(table.c[k] for k in keys), *(table.c[c] for c in columns)).where(
            table.c.org_pk == org_pk, _in_month(table, keys[0], month)
        )
        for row in conn.execute(query):
            key = tuple(row[: len(keys)])
            for column, value in zip(columns, row[len(keys) :], strict=True):
                figures[(name, key, column)] = int(value)
    return figures


def write_rows(
    conn: Connection,
    org_pk: int,
    expected: Mapping[Figure, int],
    figures: Iterable[Figure],
) -> None:
    """Rewrite every row holding one of ``figures`` with its expected values (deleted
    when the ledger adds nothing to it; kept, at zero, when what it adds sums to 0)."""
    rows: dict[tuple[str, tuple[object, ...]], None] = {}
    for name, key, _ in figures:
        rows[(name, key)] = None
    wanted: dict[tuple[str, tuple[object, ...]], dict[str, int]] = defaultdict(dict)
    for (name, key, column), value in expected.items():
        if (name, key) in rows:
            wanted[(name, key)][column] = value
    for name, key in rows:
        table, keys, columns = FIGURE_TABLES[name]
        match = [
            table.c.org_pk == org_pk,
            *(table.c[k] == v for k, v in zip(keys, key, strict=True)),
        ]
        conn.execute(delete(table).where(*match))
        values = wanted.get((name, key))
        if values:
            row = {"org_pk": org_pk, **dict(zip(keys, key, strict=True))}
            row.update({column: values.get(column, 0) for column in columns})
            conn.execute(insert(table).values(row))


def organizations(conn: Connection, short_id: str | None) -> list[tuple[int, str, str]]:
    """(pk, short id, uuid) of every organization, or of the one with ``short_id``."""
    o = t.organizations
    query = select(o.c.pk, o.c.id, o.c.uuid).order_by(o.c.id)
    if short_id is not None:
        query = query.where(o.c.id == short_id)
    return [(int(pk), str(org_id), str(org_uuid)) for pk, org_id, org_uuid in conn.execute(query)]


def months_with_figures(conn: Connection, org_pk: int) -> list[str]:
    """Every month the organization has figures in (every writer adds to its totals)."""
    u = t.usage_totals_monthly
    query = select(u.c.month).where(u.c.org_pk == org_pk).order_by(u.c.month)
    return [str(month) for month in conn.execute(query).scalars()]
