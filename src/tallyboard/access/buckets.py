"""Token buckets by key, bounded in memory: the arithmetic behind every throttle here.

A bucket holds up to ``burst`` tokens and regains ``rate`` tokens per second; taking
one when none is left is refused with the time until one is back. Buckets live in a
least-recently-used map of at most ``max_keys`` entries: when it is full, the bucket
touched longest ago is forgotten (forgetting a bucket only ever gives its key a fresh,
full one -- so eviction can loosen a limit for a key nobody used lately, never tighten
one). Thread-safe: the GraphQL endpoint calls it from worker threads.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["TokenBuckets"]


class TokenBuckets:
    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        max_keys: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate <= 0 or burst < 1 or max_keys < 1:
            raise ValueError("rate must be > 0, burst >= 1 and max_keys >= 1")
        self.rate = rate
        self.burst = float(burst)
        self._max_keys = max_keys
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, key: str, now: float) -> float:
        tokens, stamp = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - stamp) * self.rate)

    def _wait(self, level: float) -> int:
        """Whole seconds until one token is back (at least 1: a ``Retry-After``)."""
        return max(1, math.ceil((1 - level) / self.rate))

    def take(self, key: str) -> int:
        """Take one token for ``key``: 0 when taken, else the seconds to wait (and nothing
        is taken: a refused attempt does not push the wait further out)."""
        with self._lock:
            now = self._now()
            level = self._level(key, now)
            if level < 1:
                self._touch(key)
                return self._wait(level)
            self._store(key, level - 1, now)
            return 0

    def spend(self, key: str) -> None:
        """Take one token for ``key`` even when empty (the level may go below zero down
        to ``-burst``), for counting failures that happened anyway."""
        with self._lock:
            now = self._now()
            self._store(key, max(-self.burst, self._level(key, now) - 1), now)

    def wait(self, key: str) -> int:
        """Seconds until ``key`` may take a token (0: it may now); takes nothing."""
        with self._lock:
            level = self._level(key, self._now())
            if level >= 1:
                return 0
            self._touch(key)
            return self._wait(level)

    def _touch(self, key: str) -> None:
        """A refused key is in use: it is the last to be forgotten."""
        if key in self._buckets:
            self._buckets.move_to_end(key)

    def _store(self, key: str, level: float, now: float) -> None:
        if key in self._buckets:
            self._buckets.move_to_end(key)
        elif len(self._buckets) >= self._max_keys:
            self._buckets.popitem(last=False)
        self._buckets[key] = (level, now)
