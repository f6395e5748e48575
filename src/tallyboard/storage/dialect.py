"""The only place where SQLite and PostgreSQL are told apart.

Everything here is a small, measured primitive the write paths need in bulk:
additive upserts, advisory locks and the engine's connection settings. Upserts take
rows already folded and sorted by key: sorted keys make concurrent writers lock rows
in the same order (no deadlocks), and folded keys never hit the same row twice in one
statement (PostgreSQL refuses that).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, Table
from sqlalchemy.engine import Connection

__all__ = ["PostgresDialect", "SqliteDialect", "StorageDialect", "dialect_for"]


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

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        """Serialize writers on (key1, key2) until the transaction ends."""
        raise NotImplementedError


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
        conn.exec_driver_sql(sql, list(rows))

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        return None


_PG_ARRAY_TYPES = {Integer: "int4[]", BigInteger: "int8[]", SmallInteger: "int2[]"}


def _pg_array_type(table: Table, column: str) -> str:
    column_type = type(table.c[column].type)
    for sql_type, array in _PG_ARRAY_TYPES.items():
        if issubclass(column_type, sql_type):
            return array
    return "text[]"


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
        arrays = [list(values) for values in zip(*rows, strict=True)]
        casts = ", ".join(f"%s::{_pg_array_type(table, c)}" for c in columns)
        updates = [f"{c} = {table.name}.{c} + EXCLUDED.{c}" for c in add_columns]
        updates += [f"{c} = GREATEST({table.name}.{c}, EXCLUDED.{c})" for c in max_columns]
        sql = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"SELECT * FROM unnest({casts}) "
            f"ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET {', '.join(updates)}"
        )
        conn.exec_driver_sql(sql, tuple(arrays))

    def lock(self, conn: Connection, key1: int, key2: int) -> None:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%s, %s)", (key1, key2))


def dialect_for(name: str) -> StorageDialect:
    if name == "sqlite":
        return SqliteDialect()
    if name == "postgresql":
        return PostgresDialect()
    raise ValueError(f"unsupported database dialect {name!r}: use sqlite or postgresql")
