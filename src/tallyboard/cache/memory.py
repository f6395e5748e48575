"""The in-process cache backend: the default, needing nothing installed.

A :class:`~tallyboard.cache.bounded.BoundedCache` (decision 0017) keyed like Redis,
each entry with the time to live its writer chose (the per-organization cache shaves
a random jitter off each). Entries expire by the time source it is given: the monotonic
clock in production (a wall-clock jump cannot make an entry live longer), the test's
clock in tests. Memory is bounded by the number of entries: reads do not reorder
(the hot path of a fully cached combined query takes no lock), so when full the entry
written longest ago goes first, as before.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from tallyboard.cache.bounded import BoundedCache

__all__ = ["MemoryCache"]


class MemoryCache:
    name = "memory"

    def __init__(
        self, *, now: Callable[[], float] = time.monotonic, max_entries: int = 100_000
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._entries: BoundedCache[str, bytes] = BoundedCache(max_entries, timer=now)

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        return self._entries.peek_many(keys)

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        for key, value, ttl in items:
            self._entries.put(key, value, ttl=ttl)

    def close(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
