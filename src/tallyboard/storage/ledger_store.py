"""The ledger (section 11): what every figure is recomputed from.

It is the raw events that are not void, the adjustments, and what every metering flush
added (``metering_ledger``, written here in the flush's own transaction). All three are
kept for the retention horizon and pruned together (:func:`prune`). Reads stream in
key order (``yield_per``), so verifying a month holds its distinct keys in memory,
never its rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date

import orjson
from sqlalchemy import delete, select
from sqlalchemy.engine import Connection

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.storage import tables as t
from tallyboard.storage.correction_tables import adjustments, metering_ledger

__all__ = ["adjustment_payloads", "event_payloads", "metering_calls", "prune", "record_flush"]

_STREAM = 1000


def record_flush(conn: Connection, flush_id: str, deltas: RollupDeltas) -> None:
    """Keep what a flush added, one compact row per organization and day."""
    grouped: dict[tuple[int, date], list[tuple[str, str, int]]] = defaultdict(list)
    for (org_pk, day, operation, token), calls in sorted(deltas.api_calls.items()):
        if calls:
            grouped[(org_pk, day)].append((operation, token, calls))
    if grouped:
        conn.execute(
            metering_ledger.insert(),
            [
                {
                    "flush_id": flush_id,
                    "org_pk": org_pk,
                    "day": day.isoformat(),
                    "calls": orjson.dumps(rows),
                }
                for (org_pk, day), rows in grouped.items()
            ],
        )


def event_payloads(
    conn: Connection, org_pk: int, start_ms: int, end_ms: int
) -> Iterator[Sequence[bytes]]:
    """The stored payloads of the organization's events in the range that still count,
    a batch at a time (index ``(org_pk, time_ms)``: just the range's rows are read)."""
    e = t.events
    query = (
        select(e.c.payload)
        .where(
            e.c.org_pk == org_pk,
            e.c.time_ms >= start_ms,
            e.c.time_ms < end_ms,
            e.c.voided_at_ms.is_(None),
        )
        .execution_options(yield_per=_STREAM)
    )
    result = conn.execute(query)
    try:
        yield from result.scalars().partitions()
    finally:
        result.close()


def adjustment_payloads(
    conn: Connection, org_pk: int, start_ms: int, end_ms: int
) -> Iterator[tuple[str, bytes]]:
    a = adjustments
    query = (
        select(a.c.adjustment_id, a.c.payload)
        .where(a.c.org_pk == org_pk, a.c.time_ms >= start_ms, a.c.time_ms < end_ms)
        .execution_options(yield_per=_STREAM)
    )
    result = conn.execute(query)
    try:
        for adjustment_id, payload in result:
            yield str(adjustment_id), bytes(payload)
    finally:
        result.close()


def metering_calls(
    conn: Connection, org_pk: int, first_day: str, last_day: str
) -> Iterator[tuple[str, list[list[object]]]]:
    """(day, [[operation, token, calls], ...]) of every flush, days inclusive."""
    m = metering_ledger
    query = (
        select(m.c.day, m.c.calls)
        .where(m.c.org_pk == org_pk, m.c.day >= first_day, m.c.day <= last_day)
        .execution_options(yield_per=_STREAM)
    )
    result = conn.execute(query)
    try:
        for day, calls in result:
            yield str(day), orjson.loads(calls)
    finally:
        result.close()


def prune(conn: Connection, cutoff_ms: int, cutoff_day: str) -> None:
    """Forget adjustments and flush records older than the horizon (with raw events)."""
    conn.execute(delete(adjustments).where(adjustments.c.time_ms < cutoff_ms))
    conn.execute(delete(metering_ledger).where(metering_ledger.c.day < cutoff_day))
