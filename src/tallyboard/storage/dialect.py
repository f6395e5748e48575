"""The only place where SQLite and PostgreSQL are told apart.

Everything here is a small, measured primitive the write paths need in bulk:
additive upserts, insert-if-absent with the outcome per row, newest-wins upserts,
advisory locks and the engine's connection settings. Bulk primitives take rows
already folded and sorted by key: sorted keys make concurrent writers lock rows in the
same order (no deadlocks), and folded keys never hit the same row twice in one
statement (PostgreSQL refuses that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, IntegrityError

from tallyboard.storage.driver_rows import driver_cursor
from tallyboard.storage.pg_arrays import pg_array_type, pg_unnest_columns

__all__ = ["InsertOutcome", "PostgresDialect", "SqliteDialect", "StorageDialect", "dialect_for"]

Key = tuple[Any, ...]


class InsertOutcome:
    """What :meth:`StorageDialect.insert_absent` did with each row."""

    __slots__ = ("existing", "inserted")

    def __init__(self, inserted: set[Key], existing: dict[Key, tuple[Any, ...]]) -> None:
        self.inserted = inserted
        """Keys of the rows this statement inserted."""
        self.existing = existing
        """Key -> fetched columns of each row that was already stored."""


class StorageDialect:
    name: str

    def upsert_add(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        add_columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        max_columns: Sequence[str] = (),
    ) -> None:
        """Insert rows, or add ``add_columns`` (and raise ``max_columns``) on conflict.

        Each row holds the key columns, then the add columns, then the max columns.
        """
        raise NotImplementedError

    def insert_absent(
        self,
        conn: Connection,
        table: Table,
        key_length: int,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        fetch_columns: Sequence[str],
    ) -> InsertOutcome:
        """Insert the rows whose key (the first ``key_length`` columns) is not stored yet.

        Keys must be unique within ``rows`` and the key must be the table's primary
        key. Rows already stored are left alone and their ``fetch_columns`` returned,
        so the caller can tell a replay from a conflicting reuse of the key.
        """
        raise NotImplementedError

    def upsert_newer(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        groups: Sequence[Sequence[str]],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        """Insert rows, or overwrite each group of columns where the new one ranks higher.

        Rows hold the key columns then every group's columns in order. A group (e.g.
        ``("name_at", "name")``) is its own ranked fact: a stored group is replaced only
        when the new group's values (nulls as "") compare greater, so the outcome does
        not depend on arrival order, and a group that ranks lower leaves the stored
        one alone whatever the row's other groups do.
        """
        raise NotImplementedError

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        """Serialize writers on (key1, key2) until the transaction ends."""
        raise NotImplementedError

    def refuses_content(self, exc: BaseException) -> bool:
        """Whether the database refused a statement for the values it carried.

        Examples: an index entry too long (PostgreSQL's B-tree), NUL in text, a sum out
        of range, a row of an organization deleted meanwhile. Retrying the same values
        can never succeed, but the same statement without them can -- unlike an
        unreachable, busy or full database, where retrying everything is right.
        """
        # A lone surrogate has no encoding at all; an int too large to bind (SQLite).
        return isinstance(exc, (UnicodeError, OverflowError, DataError, IntegrityError))

    def passes_ceiling(self, exc: BaseException) -> bool:
        """Whether a refusal is a figure out of range: the ceiling, ``bigint``, binding."""
        return isinstance(exc, OverflowError)


def _rank_condition(table: Table, rank_columns: Sequence[str]) -> str:
    numeric = {c for c in rank_columns if pg_array_type(table, c) != "text[]"}

    def side(prefix: str) -> str:
        return (
            "("
            + ", ".join(
                f"{prefix}.{c}" if c in numeric else f"coalesce({prefix}.{c}, '')"
                for c in rank_columns
            )
            + ")"
        )

    return f"{side('excluded')} > {side(table.name)}"


def _newer_update(table: Table, key_columns: Sequence[str], groups: Sequence[Sequence[str]]) -> str:
    """``ON CONFLICT ... DO UPDATE``: each group replaced only where it ranks higher;
    rows where no group does are not touched at all (no dead tuples, no WAL)."""
    conditions = [_rank_condition(table, group) for group in groups]
    if len(groups) == 1:
        updates = ", ".join(f"{c} = excluded.{c}" for c in groups[0])
    else:
        updates = ", ".join(
            f"{c} = CASE WHEN {condition} THEN excluded.{c} ELSE {table.name}.{c} END"
            for group, condition in zip(groups, conditions, strict=True)
            for c in group
        )
    return (
        f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {updates} "
        f"WHERE {' OR '.join(f'({c})' for c in conditions)}"
    )


# SQLITE_TOOBIG, SQLITE_CONSTRAINT (every extended code), SQLITE_MISMATCH; and the
# extended code of a CHECK constraint's refusal.
_SQLITE_CONTENT_CODES = frozenset({18, 19, 20})
_SQLITE_CONSTRAINT_CHECK = 275
# SQLSTATE classes: data exception, integrity constraint violation, program limit
# exceeded ("54000": index row too large); "bigint out of range", check_violation.
_PG_CONTENT_CLASSES = frozenset({"22", "23", "54"})
_PG_OUT_OF_RANGE = frozenset({"22003", "23514"})


class SqliteDialect(StorageDialect):
    """SQLite: one writer at a time (BEGIN IMMEDIATE), so locks are free."""

    name = "sqlite"

    def upsert_add(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        add_columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        max_columns: Sequence[str] = (),
    ) -> None:
        if not rows:
            return
        columns = [*key_columns, *add_columns, *max_columns]
        updates = [f"{c} = {c} + excluded.{c}" for c in add_columns]
        updates += [f"{c} = max({c}, excluded.{c})" for c in max_columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {', '.join(updates)}"
        )
        _sqlite_executemany(conn, sql, rows)

    def insert_absent(
        self,
        conn: Connection,
        table: Table,
        key_length: int,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        fetch_columns: Sequence[str],
    ) -> InsertOutcome:
        # One executemany of INSERT ... ON CONFLICT DO NOTHING: the common case is a
        # batch of new events, and then every row was inserted (rowcount says so).
        # Otherwise each key is looked up by primary key (row-value IN lists are not
        # indexed by SQLite): a row whose rowid is above the table's highest rowid
        # before the insert was inserted by this statement, any other was already
        # stored. SQLite gives a new row the highest rowid + 1 (until rowid 2**63 - 1),
        # and the transaction began IMMEDIATE, so no other writer inserts in between.
        if not rows:
            return InsertOutcome(set(), {})
        keys = columns[:key_length]
        insert = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"ON CONFLICT ({', '.join(keys)}) DO NOTHING"
        )
        with driver_cursor(conn) as cursor:
            (watermark,) = cursor.execute(f"SELECT max(rowid) FROM {table.name}").fetchone()
            cursor.executemany(insert, rows)
            if cursor.rowcount == len(rows):
                return InsertOutcome({row[:key_length] for row in rows}, {})
            lookup = (
                f"SELECT rowid, {', '.join(fetch_columns)} FROM {table.name} "
                f"WHERE {' AND '.join(f'{c} = ?' for c in keys)}"
            )
            inserted: set[Key] = set()
            existing: dict[Key, tuple[Any, ...]] = {}
            for row in rows:
                key = row[:key_length]
                rowid, *fetched = cursor.execute(lookup, key).fetchone()
                if watermark is None or rowid > watermark:
                    inserted.add(key)
                else:
                    existing[key] = tuple(fetched)
            return InsertOutcome(inserted, existing)

    def upsert_newer(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        groups: Sequence[Sequence[str]],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        if not rows:
            return
        columns = [*key_columns, *(c for group in groups for c in group)]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)}) "
            f"{_newer_update(table, key_columns, groups)}"
        )
        _sqlite_executemany(conn, sql, rows)

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        return None

    def refuses_content(self, exc: BaseException) -> bool:
        code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
        content = isinstance(code, int) and code & 0xFF in _SQLITE_CONTENT_CODES
        return content or super().refuses_content(exc)

    def passes_ceiling(self, exc: BaseException) -> bool:
        code = getattr(getattr(exc, "orig", exc), "sqlite_errorcode", None)
        return code == _SQLITE_CONSTRAINT_CHECK or super().passes_ceiling(exc)


def _sqlite_executemany(conn: Connection, sql: str, rows: Sequence[tuple[Any, ...]]) -> None:
    with driver_cursor(conn) as cursor:
        cursor.executemany(sql, rows)


class PostgresDialect(StorageDialect):
    """PostgreSQL: one statement per table via ``unnest`` of column arrays."""

    name = "postgresql"

    def upsert_add(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        add_columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        max_columns: Sequence[str] = (),
    ) -> None:
        if not rows:
            return
        columns = [*key_columns, *add_columns, *max_columns]
        casts, params = pg_unnest_columns(table, columns, rows)
        updates = [f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in add_columns]
        updates += [f"{c} = GREATEST({table.name}.{c}, EXCLUDED.{c})" for c in max_columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({casts}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {', '.join(updates)}"
        )
        with driver_cursor(conn) as cursor:
            cursor.execute(sql, params)

    def insert_absent(
        self,
        conn: Connection,
        table: Table,
        key_length: int,
        columns: Sequence[str],
        rows: Sequence[tuple[Any, ...]],
        fetch_columns: Sequence[str],
    ) -> InsertOutcome:
        # Rows are COPYed (binary) into a per-connection temporary staging table,
        # then moved with one INSERT ... ON CONFLICT DO NOTHING RETURNING, in key
        # order. ON CONFLICT DO NOTHING waits for a concurrent transaction holding the
        # same key and then skips the row; RETURNING says which rows this statement
        # inserted. Everything else is stored (committed) and is read back below.
        # Call it at most once per transaction (the staging table empties at commit).
        if not rows:
            return InsertOutcome(set(), {})
        keys = list(columns[:key_length])
        key_list = ", ".join(keys)
        column_list = ", ".join(columns)
        staging = f"staging_{table.name}"
        driver = conn.connection.driver_connection
        with driver.cursor() as cursor:  # type: ignore[union-attr]
            # Always (cheap): a creation rolled back with its transaction is undone.
            cursor.execute(
                f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} "
                f"(LIKE {table.name} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
            )
            with cursor.copy(f"COPY {staging} ({column_list}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([pg_array_type(table, c)[:-2] for c in columns])
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                f"INSERT INTO {table.name} ({column_list}) "
                f"SELECT {column_list} FROM {staging} ORDER BY {key_list} "
                f"ON CONFLICT ({key_list}) DO NOTHING RETURNING {key_list}"
            )
            inserted = {tuple(row) for row in cursor.fetchall()}
        existing: dict[Key, tuple[Any, ...]] = {}
        if len(inserted) < len(rows):
            missing = [row[:key_length] for row in rows if row[:key_length] not in inserted]
            key_arrays = tuple(list(values) for values in zip(*missing, strict=True))
            key_casts = ", ".join(f"%s::{pg_array_type(table, c)}" for c in keys)
            selected = ", ".join(f"{table.name}.{c}" for c in [*keys, *fetch_columns])
            sql = (
                f"SELECT {selected} FROM {table.name} "
                f"JOIN unnest({key_casts}) AS wanted ({key_list}) USING ({key_list})"
            )
            for found in conn.exec_driver_sql(sql, key_arrays):
                existing[tuple(found[:key_length])] = tuple(found[key_length:])
        return InsertOutcome(inserted, existing)

    def upsert_newer(
        self,
        conn: Connection,
        table: Table,
        key_columns: Sequence[str],
        groups: Sequence[Sequence[str]],
        rows: Sequence[tuple[Any, ...]],
    ) -> None:
        if not rows:
            return
        columns = [*key_columns, *(c for group in groups for c in group)]
        casts, params = pg_unnest_columns(table, columns, rows)
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({casts}) "
            f"{_newer_update(table, key_columns, groups)}"
        )
        with driver_cursor(conn) as cursor:
            cursor.execute(sql, params)

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (key1, key2))

    def refuses_content(self, exc: BaseException) -> bool:
        state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
        content = isinstance(state, str) and state[:2] in _PG_CONTENT_CLASSES
        return content or super().refuses_content(exc)

    def passes_ceiling(self, exc: BaseException) -> bool:
        state = getattr(getattr(exc, "orig", exc), "sqlstate", None)
        return state in _PG_OUT_OF_RANGE or super().passes_ceiling(exc)


def dialect_for(name: str) -> StorageDialect:
    if name == "sqlite":
        return SqliteDialect()
    if name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database dialect {name!r}: use sqlite or postgresql")
