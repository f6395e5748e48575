"""Every row of every table, for before/after comparisons of operations that must
change nothing (an idempotent apply, a refused document)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tallyboard.storage import tables as t
from tallyboard.storage.database import Database

__all__ = ["snapshot"]


def snapshot(database: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, for before/after comparisons."""
    with database.read() as conn:
        return {
            name: sorted(tuple(map(repr, row)) for row in conn.execute(select(table)))
            for name, table in t.metadata.tables.items()
        }
