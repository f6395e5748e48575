"""The event times one ingest request accepts, and why an event outside them is refused.

At the ingest edge, not in the domain, because its messages tell the producer what to
do next and name the backfill endpoint (``POST /v1/admin/backfill``). Pure; ``now``
reaches the window as an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tallyboard.domain.event_time import epoch_ms, format_ms

__all__ = ["Window"]

_DAY_MS = 86_400_000


@dataclass(frozen=True, slots=True)
class Window:
    """The event times a request accepts: ``earliest_ms <= time_ms <= latest_ms``."""

    earliest_ms: int
    latest_ms: int
    too_old: str
    """Why an older event is refused, ending with what to do instead."""
    skew_seconds: int

    @classmethod
    def live(cls, now: datetime, days: int, skew_seconds: int) -> Window:
        return cls._around(
            now,
            days,
            skew_seconds,
            f"is older than the live window of {days} days; send older events "
            "to the backfill endpoint (POST /v1/admin/backfill, tallyboard backfill)",
        )

    @classmethod
    def backfill(cls, now: datetime, retention_days: int, skew_seconds: int) -> Window:
        return cls._around(
            now,
            retention_days,
            skew_seconds,
            f"is older than the retention horizon of {retention_days} days, beyond which "
            "duplicates could not be detected",
        )

    @classmethod
    def _around(cls, now: datetime, days: int, skew_seconds: int, too_old: str) -> Window:
        now_ms = epoch_ms(now)
        return cls(now_ms - days * _DAY_MS, now_ms + skew_seconds * 1000, too_old, skew_seconds)

    def problem(self, time_ms: int) -> str | None:
        if time_ms < self.earliest_ms:
            return f"time: {format_ms(time_ms)} {self.too_old}"
        if time_ms > self.latest_ms:
            return (
                f"time: {format_ms(time_ms)} is more than {self.skew_seconds} seconds in the future"
            )
        return None
