"""The Redis cache backend: one cache shared by every Tallyboard process.

Redis is an optimisation, never a dependency of correctness: every failure surfaces
as :class:`CacheUnavailableError` and the caller answers from the database. Timeouts
are short, and after a failure the backend stops trying for ``retry_interval`` seconds
(a simple circuit breaker), so an unreachable Redis costs one short timeout per
interval instead of one per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tallyboard.cache.backend import CacheUnavailableError

__all__ = ["RedisCache"]

log = logging.getLogger(__name__)


class RedisCache:
    name = "redis"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.5,
        retry_interval: float = 5.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        # Connects lazily, on the first command: nothing connects at construction.
        self._client = redis.Redis.from_url(
            url,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            # One immediate retry heals a pooled connection Redis closed (a restart);
            # more would only multiply the wait when Redis is really gone.
            retry=Retry(NoBackoff(), 1),
            health_check_interval=30,
        )
        self._retry_interval = retry_interval
        self._now = now
        self._down_until = 0.0
        self._lock = threading.Lock()

    def _check_circuit(self) -> None:
        if self._down_until and self._now() < self._down_until:
            raise CacheUnavailableError("redis is unavailable (waiting before retrying)")

    def _failed(self, exc: Exception) -> CacheUnavailableError:
        with self._lock:
            first = self._now() >= self._down_until
            self._down_until = self._now() + self._retry_interval
        if first:
            log.warning(
                "redis cache unavailable; answering from the database",
                extra={"error": type(exc).__name__, "retry_in_seconds": self._retry_interval},
            )
        return CacheUnavailableError(f"redis is unavailable: {type(exc).__name__}")

    def _recovered(self) -> None:
        if self._down_until:
            with self._lock:
                if self._down_until:
                    self._down_until = 0.0
                    log.info("redis cache reachable again")

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys:
            return []
        self._check_circuit()
        try:
            values = self._client.mget(list(keys))
        except redis.RedisError as exc:
            raise self._failed(exc) from exc
        self._recovered()
        return [value if isinstance(value, bytes) else None for value in values]

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        if not items:
            return
        self._check_circuit()
        try:
            pipeline = self._client.pipeline(transaction=False)
            for key, value, ttl in items:
                pipeline.set(key, value, px=max(1, round(ttl * 1000)))
            pipeline.execute()
        except redis.RedisError as exc:
            raise self._failed(exc) from exc
        self._recovered()

    def close(self) -> None:
        self._client.close()
