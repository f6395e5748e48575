"""Per-instance secrets (e.g. the key that signs pagination cursors).

A secret is created on first use by whichever process gets there first. Creation is
race-safe without dialect-specific SQL: every process tries to insert its candidate,
the primary key lets exactly one succeed, and everyone then reads the stored value, so
all processes sharing a database agree on the secret.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from tallyboard.storage import tables as t
from tallyboard.storage.database import Database

__all__ = ["get_or_create_secret"]


def _read(database: Database, name: str) -> str | None:
    table = t.instance_secrets
    with database.read() as conn:
        value = conn.execute(select(table.c.value).where(table.c.name == name)).scalar()
    return None if value is None else str(value)


def get_or_create_secret(database: Database, name: str, candidate: Callable[[], str]) -> str:
    """The stored secret ``name``; stores ``candidate()`` first when there is none."""
    stored = _read(database, name)
    if stored is not None:
        return stored
    try:
        with database.write() as conn:
            conn.execute(insert(t.instance_secrets).values(name=name, value=candidate()))
    except IntegrityError:
        pass  # another process stored its candidate first; that one is the secret
    stored = _read(database, name)
    if stored is None:  # pragma: no cover - the insert above committed or lost to a commit
        raise RuntimeError(f"instance secret {name!r} could not be stored")
    return stored
