"""The in-process cache backend: the default, needing nothing installed.

Entries expire by the time source it is given: the monotonic clock in production (a
wall-clock jump cannot make an entry live longer), the test's clock in tests. Memory
is bounded: when full, expired entries go first, then the oldest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

__all__ = ["MemoryCache"]


class MemoryCache:
    name = "memory"

    def __init__(
        self, *, now: Callable[[], float] = time.monotonic, max_entries: int = 100_000
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._now = now
        self._max = max_entries
        self._entries: dict[str, tuple[float, bytes]] = {}
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        now = self._now()
        result: list[bytes | None] = []
        with self._lock:
            for key in keys:
                entry = self._entries.get(key)
                if entry is None:
                    result.append(None)
                elif entry[0] <= now:
                    del self._entries[key]
                    result.append(None)
                else:
                    result.append(entry[1])
        return result

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        now = self._now()
        with self._lock:
            for key, value, ttl in items:
                self._entries.pop(key, None)  # re-inserted last: the newest entry
                if len(self._entries) >= self._max:
                    self._evict(now)
                self._entries[key] = (now + ttl, value)

    def _evict(self, now: float) -> None:
        expired = [key for key, (expires, _) in self._entries.items() if expires <= now]
        for key in expired:
            del self._entries[key]
        if len(self._entries) >= self._max:
            # Drop the oldest tenth at once so a full cache does not rescan per insert.
            for key in list(self._entries)[: self._max // 10 + 1]:
                del self._entries[key]

    def close(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
