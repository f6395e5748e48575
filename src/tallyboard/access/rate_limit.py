"""Per-credential token buckets (off unless ``TALLYBOARD_RATE_LIMIT`` is set).

Per process: with N processes a credential may get up to N times the rate, which is
the usual trade-off for not putting shared state on the request path.
"""

from __future__ import annotations

import math
import threading
import time

from tallyboard.domain.errors import RateLimitedError

__all__ = ["RateLimiter"]

_MAX_BUCKETS = 100_000


class RateLimiter:
    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Take one token for ``key`` or raise :class:`RateLimitedError`."""
        now = time.monotonic()
        with self._lock:
            tokens, stamp = self._buckets.get(key, (self._burst, now))
            tokens = min(self._burst, tokens + (now - stamp) * self._rate)
            if tokens < 1:
                wait = math.ceil((1 - tokens) / self._rate)
                self._buckets[key] = (tokens, now)
                raise RateLimitedError(
                    f"Too many requests for this credential; retry in {wait} s", retry_after=wait
                )
            if len(self._buckets) >= _MAX_BUCKETS and key not in self._buckets:
                self._buckets.clear()
            self._buckets[key] = (tokens - 1, now)
