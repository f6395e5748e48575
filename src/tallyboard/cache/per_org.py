"""The per-organization statistics cache (spec §4, decision 0007).

Combined queries are answered organization by organization: each organization's result
for a period is cached for ``ttl`` seconds under a key of its own, so different
combinations of organizations share entries. Rules this module enforces:

- **Keys** always hold a versioned prefix, the query kind, the organization and the
  resolved period (its months, so a month rollover changes the key).
- **Authorization is not decided here**: callers pass organizations they have already
  authorized (``stats.scope.combined_scope``); the cache only ever sees permitted ones.
- **Values** are orjson envelopes that repeat the organization's UUID and are checked on
  read, so even a mixed-up key can never serve another tenant's data.
- **TTL jitter**: each entry loses a random fraction (up to ``jitter``) of its TTL, so
  entries written together do not all expire together.
- **Single flight**: concurrent misses of one key in a process compute it once; the
  others wait for that result.
- **Failures** of the backend are counted (``cache_requests{outcome="error"}``),
  logged by the backend, and answered from the database.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson

from tallyboard.cache.backend import CacheBackend, CacheUnavailableError
from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow
from tallyboard.observability.metrics import Metrics

__all__ = ["KEY_VERSION", "Codec", "PerOrgCache"]

log = logging.getLogger(__name__)

KEY_VERSION = 1
"""Bump when the layout of any cached value changes: old entries are then ignored."""

T = TypeVar("T")

_DECODED_ENTRIES = 10_000
"""Decoded values kept in memory, least recently used out."""

_KEY_PARTS = 256
"""(kind, window) pairs whose key prefix and suffix are kept; read with ``peek`` (no
reordering on the hot path), so the oldest goes first."""


@dataclass(frozen=True, slots=True)
class Codec(Generic[T]):
    """How one kind of per-organization result becomes JSON and back."""

    dump: Callable[[T], Any]
    """To a value orjson can serialize (dicts, lists, str, int, float, bool, None)."""
    load: Callable[[Any], T]


class _Flight:
    __slots__ = ("done", "error", "followers", "value")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None
        self.followers = 0


class PerOrgCache:
    def __init__(
        self,
        backend: CacheBackend,
        metrics: Metrics,
        *,
        ttl: float,
        jitter: float,
        prefix: str = "tallyboard",
        random_fraction: Callable[[], float] = random.random,
        wait_timeout: float = 30.0,
    ) -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.backend = backend
        self._ttl = ttl
        self._jitter = jitter
        self._prefix = f"{prefix}:v{KEY_VERSION}"
        self._random = random_fraction
        self._wait_timeout = wait_timeout
        self._flights: dict[str, _Flight] = {}
        self._parts: BoundedCache[tuple[str, PeriodWindow], tuple[str, str]] = BoundedCache(
            _KEY_PARTS
        )
        """Pure function of its key: never stale, so no stamp."""
        self._decoded: BoundedCache[str, tuple[Any]] = BoundedCache(_DECODED_ENTRIES)
        """Per key, the decoded value of the last entry read, stamped with that entry's
        bytes: a hit on an unchanged entry skips decoding (values are immutable, so
        sharing them is safe); a rewritten entry has other bytes, so it is decoded."""
        self._lock = threading.Lock()
        requests = metrics.cache_requests
        self._hit = requests.labels(backend.name, "hit")
        self._miss = requests.labels(backend.name, "miss")
        self._error = requests.labels(backend.name, "error")

    def key(self, kind: str, org: OrgRef, window: PeriodWindow) -> str:
        head, tail = self._key_parts(kind, window)
        return head + org.uuid + tail

    def _key_parts(self, kind: str, window: PeriodWindow) -> tuple[str, str]:
        """What every key of (kind, window) shares around the organization's UUID."""
        parts = self._parts.peek((kind, window))
        if parts is None:
            months = f"{window.first_month}..{window.last_month}"
            parts = (f"{self._prefix}:{kind}:", f":{window.period}:{months}")
            self._parts.put((kind, window), parts)
        return parts

    def waiting(self, key: str) -> int:
        """Requests waiting for the in-flight computation of ``key`` (0 when none)."""
        with self._lock:
            flight = self._flights.get(key)
            return 0 if flight is None else flight.followers

    def ttl_for_new_entry(self) -> float:
        return self._ttl * (1.0 - self._jitter * self._random())

    # ------------------------------------------------------------ reading

    def get(
        self,
        kind: str,
        org: OrgRef,
        window: PeriodWindow,
        compute: Callable[[], T],
        codec: Codec[T],
    ) -> T:
        """One organization's cached result, computing (and caching) it on a miss."""
        return self.get_many(kind, [org], window, lambda _orgs: {org.pk: compute()}, codec)[org.pk]

    def get_many(
        self,
        kind: str,
        orgs: Sequence[OrgRef],
        window: PeriodWindow,
        compute: Callable[[Sequence[OrgRef]], Mapping[int, T]],
        codec: Codec[T],
    ) -> dict[int, T]:
        """Each organization's result by ``org.pk``; ``compute`` gets only the misses
        (in one call, so it can read them all in one pass) and must return every one."""
        head, tail = self._key_parts(kind, window)
        keys = {org.pk: head + org.uuid + tail for org in orgs}
        found = self._read(orgs, keys, codec)
        missing = [org for org in orgs if org.pk not in found]
        if missing:
            found.update(self._compute(missing, keys, compute, codec))
        return found

    def peek(
        self, kind: str, orgs: Sequence[OrgRef], window: PeriodWindow
    ) -> dict[int, Any] | None:
        """Every organization's value when each live entry is exactly the one last read
        and decoded here; otherwise None (then :meth:`get_many` does the full read).

        The cheap path of a fully cached combined query (decision 0009): one backend
        read, no decoding, no computing. Counts hits only when it answers."""
        head, tail = self._key_parts(kind, window)
        keys = [head + org.uuid + tail for org in orgs]
        try:
            blobs = self.backend.get_many(keys)
        except CacheUnavailableError:
            return None
        if None in blobs:
            return None
        memos = self._decoded.peek_many_current(keys, blobs)
        found: dict[int, Any] = {}
        for org, memo in zip(orgs, memos, strict=True):
            if memo is None:
                return None
            found[org.pk] = memo[0]
        self._hit.inc(len(found))
        return found

    def _read(
        self, orgs: Sequence[OrgRef], keys: Mapping[int, str], codec: Codec[T]
    ) -> dict[int, T]:
        try:
            blobs = self.backend.get_many([keys[org.pk] for org in orgs])
        except CacheUnavailableError:
            self._error.inc(len(orgs))
            return {}
        found: dict[int, T] = {}
        decoded = self._decoded
        for org, blob in zip(orgs, blobs, strict=True):
            key = keys[org.pk]
            value: tuple[T] | None = None
            if blob is not None:
                # The same bytes this key (and organization) decoded to, or decode them.
                value = decoded.get_current(key, blob)
                if value is None:
                    value = self._decode(blob, org, key, codec)
                    if value is not None:
                        decoded.put_current(key, blob, value)
            if value is None:
                self._miss.inc()
            else:
                self._hit.inc()
                found[org.pk] = value[0]
        return found

    def _decode(self, blob: bytes, org: OrgRef, key: str, codec: Codec[T]) -> tuple[T] | None:
        try:
            envelope = orjson.loads(blob)
            if not isinstance(envelope, dict) or envelope.get("org") != org.uuid:
                raise ValueError("the entry belongs to another organization")
            return (codec.load(envelope["value"]),)
        except Exception as exc:  # a bad entry is a miss, never an answer
            log.warning(
                "ignoring an unreadable cache entry", extra={"key": key, "error": repr(exc)}
            )
            return None

    # ------------------------------------------------------------ computing

    def _compute(
        self,
        missing: Sequence[OrgRef],
        keys: Mapping[int, str],
        compute: Callable[[Sequence[OrgRef]], Mapping[int, T]],
        codec: Codec[T],
    ) -> dict[int, T]:
        leading: list[OrgRef] = []
        following: list[tuple[OrgRef, _Flight]] = []
        with self._lock:
            for org in missing:
                flight = self._flights.get(keys[org.pk])
                if flight is None:
                    self._flights[keys[org.pk]] = _Flight()
                    leading.append(org)
                else:
                    flight.followers += 1
                    following.append((org, flight))
        result: dict[int, T] = {}
        if leading:
            # Lead (compute and publish) before following anyone, so two requests that
            # lead and follow each other's keys can never wait on each other.
            result.update(self._lead(leading, keys, compute, codec))
        for org, flight in following:
            if flight.done.wait(self._wait_timeout):
                if flight.error is not None:
                    raise flight.error
                result[org.pk] = flight.value
            else:  # the leader is stuck; do not make this request wait forever
                result[org.pk] = compute([org])[org.pk]
        return result

    def _lead(
        self,
        orgs: Sequence[OrgRef],
        keys: Mapping[int, str],
        compute: Callable[[Sequence[OrgRef]], Mapping[int, T]],
        codec: Codec[T],
    ) -> dict[int, T]:
        flights = [(org, keys[org.pk]) for org in orgs]
        try:
            computed = dict(compute(orgs))
            missing = [org.uuid for org in orgs if org.pk not in computed]
            if missing:
                raise RuntimeError(f"compute returned no result for {missing}")
            self._store(orgs, keys, computed, codec)
        except BaseException as exc:
            self._land(flights, {}, exc)
            raise
        self._land(flights, computed, None)
        return computed

    def _store(
        self,
        orgs: Sequence[OrgRef],
        keys: Mapping[int, str],
        computed: Mapping[int, T],
        codec: Codec[T],
    ) -> None:
        items = [
            (
                keys[org.pk],
                orjson.dumps({"org": org.uuid, "value": codec.dump(computed[org.pk])}),
                self.ttl_for_new_entry(),
            )
            for org in orgs
        ]
        try:
            self.backend.set_many(items)
        except CacheUnavailableError:
            self._error.inc(len(items))

    def _land(
        self,
        flights: Sequence[tuple[OrgRef, str]],
        computed: Mapping[int, T],
        error: BaseException | None,
    ) -> None:
        with self._lock:
            landed = [(org, self._flights.pop(key)) for org, key in flights]
        for org, flight in landed:
            flight.error = error
            flight.value = computed.get(org.pk)
            flight.done.set()
