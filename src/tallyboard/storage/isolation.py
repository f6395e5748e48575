"""Apply what the database accepts of a batch, and set aside the units it refuses.

Both write paths use it once a transaction has failed for the values it carried
(``StorageDialect.refuses_content``): the metering flush with one unit per rollup key,
ingestion with one unit per event. The batch is applied again within savepoints,
halved until each refused unit stands alone; everything else is applied, in the
caller's transaction. Units keep their order (the first half is applied before the
second), so whatever depends on order -- which events still fit under a ceiling --
favours the earlier ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy.engine import Connection

__all__ = ["apply_isolating", "refusal_reason"]

Unit = TypeVar("Unit")
_REASON_LENGTH = 300


def apply_isolating(
    conn: Connection,
    units: Sequence[Unit],
    apply: Callable[[Sequence[Unit]], None],
    refuses: Callable[[BaseException], bool],
) -> list[tuple[Unit, BaseException]]:
    """Apply ``units`` with ``apply``; return each unit refused on its own, with the
    refusal. Any error ``refuses`` does not recognise propagates (the caller's
    transaction then fails as a whole)."""
    refused: list[tuple[Unit, BaseException]] = []
    parts: list[Sequence[Unit]] = [units] if units else []
    while parts:
        part = parts.pop()
        try:
            with conn.begin_nested():
                apply(part)
        except Exception as exc:
            if not refuses(exc):
                raise
            if len(part) == 1:
                refused.append((part[0], exc))
            else:
                middle = len(part) // 2
                parts += (part[middle:], part[:middle])
    return refused


def refusal_reason(exc: BaseException) -> str:
    """The database's refusal on one line, shortened (it may quote the values), for
    logs: never for a caller's answer."""
    cause = getattr(exc, "orig", None) or exc
    message = " ".join(str(cause).split())
    if len(message) > _REASON_LENGTH:
        message = f"{message[:_REASON_LENGTH]}..."
    return f"{type(cause).__name__}: {message}"
