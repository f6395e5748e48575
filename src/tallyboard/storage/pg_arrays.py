"""PostgreSQL column arrays for ``unnest``: how ``storage/dialect.py`` sends bulk rows.

One parameter per column (an array literal cast by the statement) instead of one per
value: the thousands of values of a batch's rollup rows cost one string join each.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, Table

__all__ = ["pg_array_type", "pg_unnest_columns"]

# Most specific first: BigInteger and SmallInteger are subclasses of Integer.
_PG_ARRAY_TYPES = {
    BigInteger: "int8[]",
    SmallInteger: "int2[]",
    Integer: "int4[]",
    LargeBinary: "bytea[]",
}


_PG_INTEGER_ARRAYS = frozenset({"int2[]", "int4[]", "int8[]"})
_pg_array_types: dict[tuple[str, str], str] = {}


def pg_array_type(table: Table, column: str) -> str:
    known = _pg_array_types.get((table.name, column))
    if known is not None:
        return known
    column_type = type(table.c[column].type)
    array = "text[]"
    for sql_type, candidate in _PG_ARRAY_TYPES.items():
        if issubclass(column_type, sql_type):
            array = candidate
            break
    _pg_array_types[(table.name, column)] = array
    return array


def _array_literal(values: Sequence[Any], array_type: str) -> str | list[Any]:
    """A column of values as one PostgreSQL array literal (cast by the statement).

    psycopg adapts a Python list element by element in Python (type inference,
    quoting); joining one literal string is several times cheaper for the thousands
    of elements of a batch's rollup rows. Text elements are always double-quoted,
    with backslashes and quotes escaped: that is the complete quoting rule of array
    literals, so every string (braces, commas, spaces, "NULL", "") survives as is.
    """
    try:
        if array_type == "text[]":
            return (
                "{"
                + ",".join(
                    "NULL"
                    if value is None
                    else '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
                    for value in values
                )
                + "}"
            )
        if array_type in _PG_INTEGER_ARRAYS:
            # int.__repr__ refuses anything but an int (a float, a None) with TypeError.
            return "{" + ",".join(map(int.__repr__, values)) + "}"
    except (AttributeError, TypeError):
        pass  # not all strings / integers
    return list(values)  # anything else: psycopg adapts it


def pg_unnest_columns(
    table: Table, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> tuple[str, tuple[str | list[Any], ...]]:
    """``unnest(...)`` arguments with their casts, and the parameters: one per column."""
    types = [pg_array_type(table, c) for c in columns]
    casts = ", ".join(f"%s::{array_type}" for array_type in types)
    params = tuple(
        _array_literal(values, array_type)
        for values, array_type in zip(zip(*rows, strict=True), types, strict=True)
    )
    return casts, params
