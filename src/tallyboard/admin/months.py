"""Closing and reopening months (section 11): ``tallyboard month close/reopen`` and
``POST /v1/admin/months/YYYY-MM/close`` (or ``/reopen``).

Closing is instance-wide and only for a month that ended at least an hour ago (late
metering flushes still land in it, and are audited). The change and its audit entry
commit together; closing a closed month (or reopening an open one) changes nothing and
is not audited again.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Month
from tallyboard.storage import audit_store, closed_months_store
from tallyboard.storage.database import Database

__all__ = ["MonthService"]

_GRACE = timedelta(hours=1)
_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}")


class MonthService:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def _month(self, text: str) -> Month:
        """The month of ``text`` if it can be closed: ``YYYY-MM``, ended an hour ago."""
        try:
            if not _SHAPE.fullmatch(text):
                raise ValueError(f"expected a month as YYYY-MM, got {text!r}")
            month = Month.parse(text)
        except ValueError as exc:
            raise InvalidInputError([Problem("month", str(exc))]) from None
        if month >= Month.of(self._clock.now().date()) or (
            month.end_exclusive + _GRACE > self._clock.now()
        ):
            raise InvalidInputError(
                [Problem("month", f"{month} has not ended at least one hour ago")]
            )
        return month

    def close(self, text: str, actor: Actor | None = None) -> dict[str, Any]:
        """Close the month: ``{"month", "closed": true}``."""
        return self._set(text, True, actor)

    def reopen(self, text: str, actor: Actor | None = None) -> dict[str, Any]:
        """Reopen the month: ``{"month", "closed": false}``."""
        return self._set(text, False, actor)

    def _set(self, text: str, closed: bool, actor: Actor | None) -> dict[str, Any]:
        month = str(self._month(text))
        now = self._clock.now()
        with self._db.write() as conn:
            if closed:
                at_ms = int(now.timestamp() * 1000)
                changed = closed_months_store.close(conn, self._db.dialect, month, at_ms)
            else:
                changed = closed_months_store.reopen(conn, month)
            if changed:
                action = "month.close" if closed else "month.reopen"
                who = actor or operating_system_actor()
                audit_store.append(conn, now, who, action, {"month": month})
        return {"month": month, "closed": closed}
