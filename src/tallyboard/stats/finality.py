"""``final`` on every statistics answer (section 11): true when every month of the
period is closed.

Read at answer time, never cached, so closing or reopening a month changes ``final``
at once in every answer -- the reused answers and the combined queries' cache
included, whose keys therefore need not hold it. A month can be closed only once it
ended, so a period that reaches the current month is never final and reads nothing.

A period is a :class:`PeriodWindow` (``current_month``, ...) or, for the automations
and agents listings, a day range: its period is every month one of its days falls
in, so a range of a few days of a closed month is final and one that runs into an
open month is not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.storage import closed_months_store
from tallyboard.storage.database import Database

__all__ = ["Finality"]


class Finality:
    def __init__(self, database: Database) -> None:
        self._db = database

    def final(self, window: PeriodWindow) -> bool:
        return self.final_months(window.months, window.today)

    def final_months(self, months: Sequence[Month], today: date) -> bool:
        """Whether every one of ``months`` (consecutive, oldest first) is closed."""
        if not months or months[-1] >= Month.of(today):
            return False
        wanted = {str(month) for month in months}
        with self._db.read() as conn:
            return closed_months_store.closed_among(conn, wanted) == wanted
