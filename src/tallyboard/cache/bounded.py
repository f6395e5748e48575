"""One bounded in-process cache: least recently used first out, bounded both by its
number of entries and by the size its callers account for each entry.

A count bound alone lets a few large entries take all the memory (300 distinct 1 MiB
GraphQL documents took a process from 109 to 714 MiB); a size bound alone lets
millions of tiny entries in. ``cachetools.LRUCache`` keeps the order and the size
accounting; this wrapper adds the count bound and a lock (reads reorder entries, so
they mutate too).
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Generic, NamedTuple, TypeVar

from cachetools import Cache, LRUCache

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class _Sized(NamedTuple, Generic[V]):
    value: V
    size: int


def _size_of(entry: _Sized[V]) -> int:
    return entry.size


class BoundedCache(Generic[K, V]):
    """Thread-safe LRU cache of at most ``max_entries`` entries and ``max_size`` units."""

    def __init__(self, max_entries: int, max_size: int) -> None:
        if max_entries < 0 or max_size < 0:
            raise ValueError("cache bounds must not be negative")
        self._max_entries = max_entries
        self._max_size = max_size
        self._entries: LRUCache[K, _Sized[V]] = LRUCache(
            maxsize=max(max_size, 1), getsizeof=_size_of
        )
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value cached under ``key`` (now the most recently used), if any."""
        with self._lock:
            try:
                entry = self._entries[key]
            except KeyError:
                return None
        return entry.value

    def peek(self, key: K) -> V | None:
        """The value cached under ``key``, if any, leaving the order alone: a plain dict
        read (``Cache.__getitem__`` skips the LRU bookkeeping), so no lock either."""
        try:
            entry = Cache.__getitem__(self._entries, key)
        except KeyError:
            return None
        return entry.value

    def put(self, key: K, value: V, size: int) -> bool:
        """Cache ``value``, evicting the least recently used entries to make room.
        False (nothing cached, nothing evicted) when it could never fit."""
        if size > self._max_size or self._max_entries == 0:
            return False
        with self._lock:
            self._entries.pop(key, None)
            while len(self._entries) >= self._max_entries:
                self._entries.popitem()
            self._entries[key] = _Sized(value, max(size, 0))
        return True

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The size accounted for every entry held."""
        return int(self._entries.currsize)
