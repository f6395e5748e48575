"""Bulk writes of generated ledger chunks (``bench/ledger_data.py``) into one database.

SQLite: ``executemany`` on the driver connection, one transaction per chunk.
PostgreSQL: ``COPY ... FROM STDIN`` per table and chunk. The month's rollups go through
the real :class:`RollupWriter` (its bulk upserts), so they are what ingestion stores.
"""

from __future__ import annotations

import time
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
    """One engine's database being filled; ``seconds`` is the time spent writing."""

    def __init__(self, database: Database, operation_name_cap: int) -> None:
        self.database = database
        self.engine = database.engine.dialect.name
        self.writer = RollupWriter(database.dialect, operation_name_cap)
        self.seconds = 0.0
        self._raw = database.engine.raw_connection()
        self._driver: Any = self._raw.driver_connection
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
        started = time.perf_counter()
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
        self.seconds += time.perf_counter() - started

    def write_rollups(self, deltas: RollupDeltas) -> None:
        started = time.perf_counter()
        if not deltas.is_empty():
            with self.database.write() as conn:
                self.writer.apply(conn, deltas)
        self.seconds += time.perf_counter() - started

    def finish(self) -> None:
        """Planner statistics, as autovacuum would have gathered them on a live server."""
        started = time.perf_counter()
        self._execute(*(f"CREATE INDEX {name} ON events ({cols})" for name, cols in _SECONDARY))
        if self.engine == "postgresql":
            self._driver.autocommit = True
            with self._driver.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
            self._driver.autocommit = False  # back to the pool as it came
        self._raw.close()
        self.seconds += time.perf_counter() - started
