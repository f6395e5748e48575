"""Bulk writes of generated ledger chunks (``bench/ledger_data.py``) into one database.

SQLite: ``executemany`` on the driver connection, one transaction per chunk.
PostgreSQL: ``COPY ... FROM STDIN`` (text) per table and chunk. Each engine loads on
its own thread, the events' secondary indexes built once at the end. The month's rollups go through
the real :class:`RollupWriter` (its bulk upserts), so they are what ingestion stores.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from bench.ledger_data import Chunk
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["BulkTarget"]

_COLUMNS = {
    "events": (
        "org_pk, source, event_id, type, time_ms, payload_hash, payload, received_at_ms, "
        "voided_at_ms"
    ),
    "adjustments": (
        "org_pk, adjustment_id, type, time_ms, payload_hash, payload, reason, created_at_ms"
    ),
    "metering_ledger": "flush_id, org_pk, day, calls",
}


_SECONDARY = (("ix_events_time_ms", "time_ms"), ("ix_events_org_pk_time_ms", "org_pk, time_ms"))
"""The events table's secondary indexes (as the migrations name them): dropped while
loading, built once at the end -- far cheaper than maintaining them row by row."""


def _copy_field(value: Any) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bytes):
        return "\\\\x" + value.hex()
    return str(value)


def _copy_line(row: tuple[Any, ...]) -> str:
    """One row in COPY's text format (the generated values hold no tab, newline or
    backslash; bytes go as bytea hex)."""
    return "\t".join(map(_copy_field, row)) + "\n"


class BulkTarget:
    """One engine's database being filled by its own thread, so the engines load side by
    side while the main thread generates the next chunk (SQLite and psycopg release the
    GIL while the database works). ``seconds`` is the time this engine spent writing."""

    def __init__(self, database: Database, operation_name_cap: int) -> None:
        self.database = database
        self.engine = database.engine.dialect.name
        self.writer = RollupWriter(database.dialect, operation_name_cap)
        self.seconds = 0.0
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"bulk-{self.engine}")
        self._pending: list[Future[None]] = []
        self._raw: Any = None
        self._driver: Any = None
        self._submit(self._open)

    def _submit(self, task: Callable[..., None], *args: Any) -> None:
        """Queue ``task`` on this engine's thread (in order); at most two chunks wait."""
        while len(self._pending) > 1:
            self._pending.pop(0).result()

        def timed() -> None:
            started = time.perf_counter()
            task(*args)
            self.seconds += time.perf_counter() - started

        self._pending.append(self._thread.submit(timed))

    def _open(self) -> None:
        self._raw = self.database.engine.raw_connection()
        self._driver = self._raw.driver_connection
        if self.engine == "postgresql":
            self._execute("SET synchronous_commit TO off")
        self._execute(*(f"DROP INDEX {name}" for name, _ in _SECONDARY))

    def _execute(self, *statements: str) -> None:
        cursor = self._driver.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()
        self._driver.commit()

    def write(self, chunk: Chunk) -> None:
        self._submit(self._write, chunk)

    def write_rollups(self, deltas: RollupDeltas) -> None:
        self._submit(self._write_rollups, deltas)

    def finish(self) -> None:
        """Queue the end: build the indexes, then gather the planner's statistics as
        autovacuum would have on a live server."""
        self._submit(self._finish)

    def wait(self) -> None:
        """Wait for everything queued (and raise what failed)."""
        for future in self._pending:
            future.result()
        self._thread.shutdown()

    def _write(self, chunk: Chunk) -> None:
        parts = (
            ("events", chunk.events),
            ("adjustments", chunk.adjustments),
            ("metering_ledger", chunk.flushes),
        )
        if self.engine == "sqlite":
            cursor = self._driver.cursor()
            cursor.execute("BEGIN")
            for table, rows in parts:
                if rows:
                    marks = ", ".join("?" * len(rows[0]))
                    cursor.executemany(
                        f"INSERT INTO {table} ({_COLUMNS[table]}) VALUES ({marks})", rows
                    )
            cursor.execute("COMMIT")
        else:
            with self._driver.cursor() as cursor:
                for table, rows in parts:
                    if rows:
                        with cursor.copy(f"COPY {table} ({_COLUMNS[table]}) FROM STDIN") as copy:
                            copy.write("".join(map(_copy_line, rows)))
            self._driver.commit()

    def _write_rollups(self, deltas: RollupDeltas) -> None:
        if not deltas.is_empty():
            with self.database.write() as conn:
                self.writer.apply(conn, deltas)

    def _finish(self) -> None:
        self._execute(*(f"CREATE INDEX {name} ON events ({cols})" for name, cols in _SECONDARY))
        if self.engine == "postgresql":
            self._driver.autocommit = True
            with self._driver.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO DEFAULT")
                cursor.execute("VACUUM ANALYZE")
            self._driver.autocommit = False  # back to the pool as it came
        self._raw.close()
