"""The driver's own cursor, for the few statements whose cost is per row.

SQLAlchemy's ``Connection.execute`` builds a ``Row`` (with its key map and result
processors) for every row fetched: for a read of a few thousand rows -- an
organization's usage per automation, on every cold listing -- that is a third of
the read's time. :func:`fetch_rows` runs a Core statement, compiled once per dialect,
on the driver's cursor in the caller's transaction and returns the driver's plain
tuples, one at a time. Only for statements whose columns need no result processing (integers,
text, sums) and which live as module constants (the compiled form is kept per
statement object).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import Select

__all__ = ["driver_cursor", "fetch_rows"]


@contextmanager
def driver_cursor(conn: Connection) -> Iterator[Any]:
    """The driver's own cursor, in the caller's transaction.

    SQLAlchemy's ``exec_driver_sql`` costs tens of microseconds per statement and a
    batch runs about ten of them, none needing its result handling. Driver errors
    are raised as the same ``sqlalchemy.exc`` classes ``exec_driver_sql`` raises
    (``IntegrityError``, ``OperationalError``, ...), so callers see no difference.
    """
    dbapi_error: type[Exception] = conn.dialect.loaded_dbapi.Error
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        yield cursor
    except dbapi_error as exc:
        raise DBAPIError.instance(None, None, exc, dbapi_error, dialect=conn.dialect) from exc
    finally:
        cursor.close()


_BATCH = 256
"""Rows fetched per call: below CPython's young-generation threshold (700), and few
calls (psycopg checks its result on every ``next()`` of a cursor)."""

_Compiled = tuple[str, tuple[str, ...] | None]
"""The statement's SQL in the driver's parameter style, and the order of its
positional parameters (None: the driver takes them by name)."""
_COMPILED: dict[tuple[Select[Any], str], _Compiled] = {}


def _compiled(conn: Connection, statement: Select[Any]) -> _Compiled:
    key = (statement, conn.dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        compiled = statement.compile(dialect=conn.dialect)
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        found = _COMPILED[key] = (compiled.string, order)
    return found


def fetch_rows(
    conn: Connection, statement: Select[Any], params: Mapping[str, Any]
) -> Iterator[tuple[Any, ...]]:
    """Every row of ``statement`` (bound parameters by name, no expanding ones), a few
    hundred at a time: thousands of row tuples alive at once would set off the garbage
    collector's young passes, each promoting them towards a full pass."""
    sql, order = _compiled(conn, statement)
    values: Any = dict(params) if order is None else tuple(params[name] for name in order)
    with driver_cursor(conn) as cursor:
        cursor.execute(sql, values)
        while batch := cursor.fetchmany(_BATCH):
            yield from batch
