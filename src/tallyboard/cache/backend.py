"""The interface every statistics-cache backend implements.

Deliberately tiny -- bytes in, bytes out, with a time to live -- so the in-process and
the Redis backend can be held to one contract test suite (tests/contract). Everything
about what is cached and under which key lives in ``per_org``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["CacheBackend", "CacheUnavailableError"]


class CacheUnavailableError(Exception):
    """The backend could not be reached; callers answer from the database instead."""


class CacheBackend(Protocol):
    name: str
    """Label of the ``backend`` dimension of the cache metrics (``memory``, ``redis``)."""

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The live value of each key (None when absent or expired), in key order.

        Raises :class:`CacheUnavailableError` when the backend cannot answer.
        """
        ...

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        """Store ``(key, value, ttl seconds)`` triples, replacing existing values.

        Raises :class:`CacheUnavailableError` when the backend cannot answer.
        """
        ...

    def close(self) -> None:
        """Release connections; the backend is not used afterwards."""
        ...
