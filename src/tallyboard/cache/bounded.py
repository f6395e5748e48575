"""The one in-process cache primitive: least recently used first out, bounded by its
number of entries and by the size its callers account for each entry, with the
invalidation key explicit.

Every memo in the process is a ``BoundedCache`` (decision 0017). What makes an entry
stale is always spelled out by its caller, in one of two ways:

- a **stamp** stored beside the value (a tenancy generation, a usage version, ...):
  ``get_current(key, stamp)`` answers only when the stamp still matches, so a writer
  that bumps the stamp invalidates every entry made under the old one, in every
  process, without anyone having to find and delete them;
- a **time to live** (``ttl``, for the cache or per entry) for what no stamp describes.

A count bound alone lets a few large entries take all the memory (300 distinct 1 MiB
GraphQL documents took a process from 109 to 714 MiB); a size bound alone lets
millions of tiny entries in. An ``OrderedDict`` keeps the order (its C
``move_to_end`` and ``popitem`` are the LRU bookkeeping) and the class accounts the
sizes; a lock guards every change (reads reorder entries, so they mutate too). The
``peek`` reads are plain dict reads, without the lock or the reordering: the hot
paths (a fully cached combined query reads 25 entries per request) pay ~0.1 µs each
(``cachetools.LRUCache``, used before, cost ~0.4 µs per read in Python frames).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from itertools import repeat
from typing import Generic, NamedTuple, TypeVar

__all__ = ["BoundedCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NO_STAMP: object = object()
_NEVER = float("inf")


class _Entry(NamedTuple, Generic[V]):
    value: V
    size: int
    stamp: object
    expires: float


class BoundedCache(Generic[K, V]):
    """Thread-safe LRU cache of at most ``max_entries`` entries and ``max_size`` units.

    ``max_size`` defaults to ``max_entries`` (every entry counts 1 unless its caller
    says otherwise); ``ttl`` (seconds by ``timer``) expires entries that no stamp
    describes; ``max_entries=0`` turns the cache off (nothing is kept).
    """

    def __init__(
        self,
        max_entries: int,
        max_size: int | None = None,
        *,
        ttl: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        size_bound = max_entries if max_size is None else max_size
        if max_entries < 0 or size_bound < 0:
            raise ValueError("cache bounds must not be negative")
        self._max_entries = max_entries
        self._max_size = size_bound
        self._ttl = ttl
        self._timer = timer
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def _live(self, entry: _Entry[V] | None, stamp: object, now: float | None = None) -> V | None:
        if entry is None or (entry.stamp is not stamp and entry.stamp != stamp):
            return None
        if entry.expires != _NEVER and (self._timer() if now is None else now) >= entry.expires:
            return None
        return entry.value

    def _touch(self, key: K) -> _Entry[V] | None:
        """The entry under ``key``, now the most recently used (caller holds the lock)."""
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def get(self, key: K) -> V | None:
        """The value cached under ``key`` (now the most recently used), if any."""
        return self.get_current(key, _NO_STAMP)

    def get_many(self, keys: Sequence[K]) -> list[V | None]:
        """:meth:`get` of every key, in order, under one acquisition of the lock."""
        with self._lock:
            entries = [self._touch(key) for key in keys]
        now = self._timer()
        return [self._live(entry, _NO_STAMP, now) for entry in entries]

    def get_current(self, key: K, stamp: object) -> V | None:
        """The value cached under ``key`` if it was stored under ``stamp`` (and has not
        expired); an entry of another stamp is stale and answers nothing."""
        with self._lock:
            entry = self._touch(key)
        return self._live(entry, stamp)

    def peek(self, key: K) -> V | None:
        """The value cached under ``key``, if any, leaving the order alone: a plain dict
        read (atomic under the GIL), so no lock either."""
        return self._live(self._entries.get(key), _NO_STAMP)

    def peek_current(self, key: K, stamp: object) -> V | None:
        """:meth:`peek` for an entry stored under ``stamp`` (hot read paths that can
        do without the LRU reordering, e.g. a fully cached combined query)."""
        return self._live(self._entries.get(key), stamp)

    def peek_many(self, keys: Sequence[K]) -> list[V | None]:
        """:meth:`peek` of every key, in order (one clock read): no lock, no reordering,
        so among entries read only this way the one written longest ago goes first."""
        return self.peek_many_current(keys, repeat(_NO_STAMP))

    def peek_many_current(self, keys: Sequence[K], stamps: Iterable[object]) -> list[V | None]:
        """:meth:`peek_current` of every key under its stamp, in order: the per-request
        path of a fully cached combined query, so the checks are inlined here."""
        read = self._entries.get
        now: float | None = None
        found: list[V | None] = []
        for key, stamp in zip(keys, stamps, strict=False):  # stamps may be endless
            entry = read(key)
            if entry is None or (entry.stamp is not stamp and entry.stamp != stamp):
                found.append(None)
            elif entry.expires == _NEVER:
                found.append(entry.value)
            else:
                now = self._timer() if now is None else now
                found.append(entry.value if now < entry.expires else None)
        return found

    def put(self, key: K, value: V, size: int = 1, *, ttl: float | None = None) -> bool:
        """Cache ``value``, evicting the least recently used entries to make room.
        False (nothing cached, nothing evicted) when it could never fit. ``ttl``: this
        entry's own time to live, instead of the cache's (e.g. one shaved by jitter)."""
        return self.put_current(key, _NO_STAMP, value, size, ttl=ttl)

    def put_current(
        self, key: K, stamp: object, value: V, size: int = 1, *, ttl: float | None = None
    ) -> bool:
        """Cache ``value`` as valid while its invalidation key is ``stamp``."""
        if size > self._max_size or self._max_entries == 0:
            return False
        size = max(size, 0)
        ttl = self._ttl if ttl is None else ttl
        expires = self._timer() + ttl if ttl is not None else _NEVER
        with self._lock:
            entries = self._entries
            replaced = entries.pop(key, None)
            if replaced is not None:
                self._size -= replaced.size
            while entries and (
                len(entries) >= self._max_entries or self._size + size > self._max_size
            ):
                self._size -= entries.popitem(last=False)[1].size
            entries[key] = _Entry(value, size, stamp, expires)
            self._size += size
        return True

    def discard(self, key: K) -> None:
        with self._lock:
            entry = self._entries.pop(key, None)
            if entry is not None:
                self._size -= entry.size

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size(self) -> int:
        """The size accounted for every entry held."""
        return self._size
