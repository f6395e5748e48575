"""Per-principal request limits on the GraphQL API (off unless ``TALLYBOARD_RATE_LIMIT``).

The key is the *principal* -- the service account or the user -- never the credential:
a service account may mint as many access tokens as it likes at ``/oauth/token`` and a
user may hold several personal tokens, and every one of them draws from the same
bucket (``Principal.rate_key``).

Per process: with N processes a principal may get up to N times the rate, which is
the usual trade-off for not putting shared state on the request path.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from tallyboard.access.buckets import TokenBuckets
from tallyboard.domain.errors import RateLimitedError

__all__ = ["RateLimiter"]

_MAX_BUCKETS = 100_000


class RateLimiter:
    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = _MAX_BUCKETS,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._buckets = TokenBuckets(rate, burst, max_keys=max_keys, now=now)

    def check(self, key: str) -> None:
        """Take one request for ``key`` or raise :class:`RateLimitedError`."""
        wait = self._buckets.take(key)
        if wait:
            raise RateLimitedError(
                f"Too many requests for this service account or user; retry in {wait} s",
                retry_after=wait,
            )
