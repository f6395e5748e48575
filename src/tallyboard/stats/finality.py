"""``final`` on every statistics answer (section 11): true when every month of the
period is closed.

Read at answer time, never cached, so closing or reopening a month changes ``final``
at once in every answer -- the reused answers and the combined queries' cache
included, whose keys therefore need not hold it. A month can be closed only once it
ended, so a period that reaches the current month is never final and reads nothing.
"""

from __future__ import annotations

from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.storage import closed_months_store
from tallyboard.storage.database import Database

__all__ = ["Finality"]


class Finality:
    def __init__(self, database: Database) -> None:
        self._db = database

    def final(self, window: PeriodWindow) -> bool:
        if window.last_month >= Month.of(window.today):
            return False
        months = {str(month) for month in window.months}
        with self._db.read() as conn:
            return closed_months_store.closed_among(conn, months) == months
