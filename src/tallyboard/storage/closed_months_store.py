"""Closed months (section 11): instance-wide, one row per closed ``YYYY-MM``.

Readers ask only about months that could be closed at all (a month can be closed once
it ended an hour ago), so the hot paths -- live ingestion, the metering flush, the
current month's statistics -- never read this table.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.storage import audit_store
from tallyboard.storage import tables as t
from tallyboard.storage.correction_tables import closed_months
from tallyboard.storage.dialect import StorageDialect

__all__ = [
    "METERING_ACTOR",
    "all_closed",
    "close",
    "closed_among",
    "record_late_metering",
    "reopen",
]

METERING_ACTOR = Actor("system", "metering")
"""Who writes a late metering flush: the server itself, for the calls it served."""


def closed_among(conn: Connection, months: Collection[str]) -> set[str]:
    """Which of ``months`` (``YYYY-MM``) are closed."""
    if not months:
        return set()
    query = select(closed_months.c.month).where(closed_months.c.month.in_(sorted(months)))
    return set(conn.execute(query).scalars())


def all_closed(conn: Connection) -> set[str]:
    """Every closed month (a few hundred rows at most: one per month ever closed)."""
    return set(conn.execute(select(closed_months.c.month)).scalars())


def close(conn: Connection, dialect: StorageDialect, month: str, at_ms: int) -> bool:
    """Close ``month``; True when it was open until now."""
    outcome = dialect.insert_absent(
        conn, closed_months, 1, ("month", "closed_at_ms"), [(month, at_ms)], ("month",)
    )
    return bool(outcome.inserted)


def reopen(conn: Connection, month: str) -> bool:
    """Reopen ``month``; True when it was closed until now."""
    result = conn.execute(delete(closed_months).where(closed_months.c.month == month))
    return bool(result.rowcount)


def record_late_metering(conn: Connection, deltas: RollupDeltas, at_ms: int) -> None:
    """Audit the calls of ``deltas`` served in a month already closed (a delayed flush):
    they are counted -- they were served -- and each such write is on the record, one
    entry per organization and month, in the flush's transaction."""
    current = datetime.fromtimestamp(at_ms / 1000, UTC).strftime("%Y-%m")
    late: dict[tuple[int, str], int] = defaultdict(int)
    for (org_pk, day, _, _), calls in deltas.api_calls.items():
        month = f"{day.year:04d}-{day.month:02d}"
        if month < current:
            late[(org_pk, month)] += calls
    if not late:
        return
    closed = closed_among(conn, {month for _, month in late})
    late = {key: calls for key, calls in late.items() if key[1] in closed}
    if not late:
        return
    o = t.organizations
    query = select(o.c.pk, o.c.uuid).where(o.c.pk.in_(sorted({k[0] for k in late})))
    uuids: dict[int, str] = {}
    for org_pk, org_uuid in conn.execute(query):
        uuids[org_pk] = org_uuid
    at = datetime.fromtimestamp(at_ms / 1000, UTC)
    for (org_pk, month), calls in sorted(late.items()):
        details = {"month": month, "calls": calls}
        audit_store.append(
            conn, at, METERING_ACTOR, "metering.late", details, organization=uuids.get(org_pk)
        )
