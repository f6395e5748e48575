"""The locks a correction batch takes before it changes anything: one order for every
writer, so a batch never deadlocks with another batch, an ingest batch, a metering
flush or a repair (decision 0020).

Every writer of usage locks, in this order: the monthly totals rows of every
(organization, month) it writes, in key order (``usage_totals.add`` sorts them), then
the answer-reuse version rows, stream by stream, organizations ascending
(``usage_versions.bump``); whatever else it writes -- rollup rows, events, alerts --
belongs to a month whose totals it already holds. Ingestion and the flush take each
kind of lock in one statement. A correction batch judges its entries one at a time,
so without this each entry would lock its own month and stream in the batch's order,
and two batches (or a batch and an ingest batch) could wait for each other. Locking
the batch's months and streams up front, before its first event is claimed, puts it
in the common order.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import FIGURES, MonthKey
from tallyboard.storage import usage_totals, usage_versions
from tallyboard.storage.dialect import StorageDialect

__all__ = ["lock_months"]


def lock_months(conn: Connection, dialect: StorageDialect, months: Collection[MonthKey]) -> None:
    """Lock the totals of ``months`` and the versions of their organizations until the
    transaction ends (adding zero: a month without figures gets an all-zero totals row,
    which every figure reads as nothing)."""
    if not months:
        return
    usage_totals.add(conn, dialect, dict.fromkeys(sorted(months), (0,) * len(FIGURES)))
    organizations = {org_pk for org_pk, _ in months}
    for stream in usage_versions.Stream:
        usage_versions.bump(conn, dialect, stream, organizations)
