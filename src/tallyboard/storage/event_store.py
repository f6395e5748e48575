"""Raw events: the exactly-once ledger of ingestion.

Each event is stored once under its dedupe key (organization, source, id) with a hash
of its normalized payload. Inserting a batch reports, per key, whether this
transaction stored it or it was already there (and with which hash), so the caller
can count only what is new and tell replays from conflicting reuses of an id --
inside the same transaction that updates the rollups (decision 0006).
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext

from sqlalchemy import delete, select, tuple_
from sqlalchemy.engine import Connection

from tallyboard.domain.event_time import format_ms
from tallyboard.domain.events import EVENT_TYPE_CODES, Event
from tallyboard.storage import ledger_store
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.dialect import InsertOutcome

__all__ = ["EventStore"]

_COLUMNS = (
    "org_pk",
    "source",
    "event_id",
    "type",
    "time_ms",
    "payload_hash",
    "payload",
    "received_at_ms",
)
_KEY_LENGTH = 3
_DELETE_CHUNK = 500


class EventStore:
    def __init__(self, database: Database) -> None:
        self._db = database
        # SQLite has one writer at a time; queueing this process's writers on a lock
        # is much faster than letting them poll SQLite's busy handler.
        self._serial: AbstractContextManager[object] = (
            threading.Lock() if database.is_sqlite else nullcontext()
        )

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction; committed (durably) when the block exits normally."""
        with self._serial, self._db.write() as conn:
            yield conn

    def insert(
        self, conn: Connection, events: Sequence[Event], received_at_ms: int
    ) -> InsertOutcome:
        """Store the events whose key is new; ``existing`` maps other keys to their hash.

        Keys must be unique within ``events``. Rows go in key order so concurrent
        writers of overlapping batches wait on each other instead of deadlocking.
        """
        rows = sorted(
            (
                event.org_pk,
                event.source,
                event.id,
                EVENT_TYPE_CODES[event.type],
                event.time_ms,
                event.digest,
                event.payload,
                received_at_ms,
            )
            for event in events
        )
        return self._db.dialect.insert_absent(
            conn, t.events, _KEY_LENGTH, _COLUMNS, rows, ("payload_hash",)
        )

    def forget(self, conn: Connection, keys: Collection[tuple[int, str, str]]) -> None:
        """Delete the events of ``keys`` inserted by this transaction but then rejected
        (a rejected event is not stored: its id stays free for a corrected one)."""
        e = t.events
        ordered = sorted(keys)
        for start in range(0, len(ordered), _DELETE_CHUNK):
            chunk = ordered[start : start + _DELETE_CHUNK]
            conn.execute(delete(e).where(tuple_(e.c.org_pk, e.c.source, e.c.event_id).in_(chunk)))

    def delete_older_than(self, cutoff_ms: int, limit: int) -> int:
        """Delete up to ``limit`` events with ``time_ms < cutoff_ms``, in one transaction."""
        e = t.events
        key = tuple_(e.c.org_pk, e.c.source, e.c.event_id)
        oldest = select(e.c.org_pk, e.c.source, e.c.event_id).where(e.c.time_ms < cutoff_ms)
        with self.transaction() as conn:
            result = conn.execute(delete(e).where(key.in_(oldest.limit(limit))))
            # The rest of the ledger (section 11) goes with the raw events.
            cutoff_day = format_ms(cutoff_ms - cutoff_ms % 86_400_000)[:10]
            ledger_store.prune(conn, cutoff_ms, cutoff_day)
            return int(result.rowcount)
