"""Calendar arithmetic for reporting periods.

All times are UTC and months are calendar months (decision 0001). Every period is a
whole number of months, which is why totals can be read from monthly rollups and
only series need daily ones. Bounds are shown inclusive (``to`` is the last second of
the last month) because the public API shows them that way; internally
``end_exclusive`` is used wherever ranges are compared.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

__all__ = ["Month", "Period", "PeriodWindow", "format_datetime", "resolve_period"]


class Period(StrEnum):
    CURRENT_MONTH = "current_month"
    LAST_MONTH = "last_month"
    LAST_3_MONTHS = "last_3_months"


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month; orders chronologically."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year must be 1..9999, got {self.year}")

    @classmethod
    def of(cls, moment: date) -> Month:
        return cls(moment.year, moment.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse ``YYYY-MM``; raises ``ValueError`` naming the expected shape."""
        parts = text.split("-")
        if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2:
            raise ValueError(f"expected a month as YYYY-MM, got {text!r}")
        try:
            return cls(int(parts[0]), int(parts[1]))
        except ValueError:
            raise ValueError(f"expected a month as YYYY-MM, got {text!r}") from None

    @property
    def index(self) -> int:
        """Months since year 0; consecutive months differ by exactly one."""
        return self.year * 12 + self.month - 1

    @classmethod
    def from_index(cls, index: int) -> Month:
        return cls(index // 12, index % 12 + 1)

    def shift(self, months: int) -> Month:
        return Month.from_index(self.index + months)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    @property
    def length(self) -> int:
        return calendar.monthrange(self.year, self.month)[1]

    def days(self) -> list[date]:
        first = self.first_day
        return [first + timedelta(days=i) for i in range(self.length)]

    @property
    def start(self) -> datetime:
        """First instant of the month (inclusive)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end_exclusive(self) -> datetime:
        """First instant of the next month."""
        return self.shift(1).start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


@dataclass(frozen=True, slots=True)
class PeriodWindow:
    """A period resolved against "now": its months, its bounds and today."""

    period: Period
    months: tuple[Month, ...]
    today: date

    @property
    def first_month(self) -> Month:
        return self.months[0]

    @property
    def last_month(self) -> Month:
        return self.months[-1]

    @property
    def start(self) -> datetime:
        return self.first_month.start

    @property
    def end_exclusive(self) -> datetime:
        return self.last_month.end_exclusive

    @property
    def end(self) -> datetime:
        """The last second of the period, as the public API shows ``filterDate.to``."""
        return self.end_exclusive - timedelta(seconds=1)

    @property
    def first_day(self) -> date:
        return self.first_month.first_day

    @property
    def last_day(self) -> date:
        return self.last_month.last_day

    def days_to_date(self) -> list[date]:
        """Every day from the first of the period up to today (or the period's end)."""
        last = min(self.last_day, self.today)
        if last < self.first_day:
            return []
        count = (last - self.first_day).days + 1
        return [self.first_day + timedelta(days=i) for i in range(count)]

    def months_to_date(self) -> list[Month]:
        current = Month.of(self.today)
        return [m for m in self.months if m <= current]

    @property
    def uses_monthly_buckets(self) -> bool:
        return self.period is Period.LAST_3_MONTHS


def resolve_period(period: Period, now: datetime) -> PeriodWindow:
    """Resolve ``period`` at instant ``now`` (any timezone; interpreted in UTC)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(UTC).date()
    this_month = Month.of(today)
    if period is Period.CURRENT_MONTH:
        months: tuple[Month, ...] = (this_month,)
    elif period is Period.LAST_MONTH:
        months = (this_month.shift(-1),)
    else:
        months = (this_month.shift(-2), this_month.shift(-1), this_month)
    return PeriodWindow(period=period, months=months, today=today)


def format_datetime(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC, without fractional seconds (the contract's form)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
