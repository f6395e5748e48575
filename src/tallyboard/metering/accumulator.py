"""The in-process accumulator of billable calls.

The request path only bumps a dict entry (~0.2 µs); all I/O happens in the flusher.
It is touched only from the event-loop thread (the GraphQL endpoint records after its
worker-thread hop returns, and the flusher drains on the loop), so it needs no lock.
Memory is bounded: once ``max_keys`` distinct keys are waiting, calls for new keys are
dropped and counted (``tallyboard_metering_dropped_calls``) -- which only happens when
the database has been unreachable for a long time.
"""

from __future__ import annotations

import logging

from tallyboard.domain.rollup import ApiCallKey
from tallyboard.observability.metrics import Metrics

__all__ = ["Accumulator"]

log = logging.getLogger(__name__)


class Accumulator:
    def __init__(self, max_keys: int, metrics: Metrics) -> None:
        self.max_keys = max_keys
        self._metrics = metrics
        self._counts: dict[ApiCallKey, int] = {}
        self.reserved_keys = 0
        """Keys held elsewhere (a failed flush awaiting retry) that count against the bound."""

    def record(self, key: ApiCallKey, calls: int = 1) -> bool:
        """Count ``calls`` under ``key``; False when they had to be dropped."""
        counts = self._counts
        current = counts.get(key)
        if current is not None:
            counts[key] = current + calls
        elif len(counts) + self.reserved_keys < self.max_keys:
            counts[key] = calls
        else:
            self._metrics.metering_dropped.inc(calls)
            log.error(
                "metering buffer full: dropped billable calls",
                extra={"org_pk": key[0], "calls": calls, "max_keys": self.max_keys},
            )
            return False
        self._metrics.metering_recorded.inc(calls)
        return True

    def drain(self) -> dict[ApiCallKey, int]:
        """Take everything counted so far, leaving the accumulator empty."""
        counts, self._counts = self._counts, {}
        return counts

    def __len__(self) -> int:
        return len(self._counts)
