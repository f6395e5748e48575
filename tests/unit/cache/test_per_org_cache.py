"""The per-organization cache: keys, TTL and jitter, single flight, failures."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import orjson
import pytest

from tallyboard.cache.backend import CacheUnavailableError
from tallyboard.cache.memory import MemoryCache
from tallyboard.cache.per_org import Codec, PerOrgCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Period, PeriodWindow, resolve_period
from tallyboard.observability.metrics import Metrics

A = OrgRef(1, "1", "00000000-0000-4000-8000-00000000000a", "A")
B = OrgRef(2, "2", "00000000-0000-4000-8000-00000000000b", "B")
C = OrgRef(3, "3", "00000000-0000-4000-8000-00000000000c", "C")
NOV = resolve_period(Period.CURRENT_MONTH, datetime(2026, 11, 21, tzinfo=UTC))
CODEC: Codec[dict[str, int]] = Codec(dump=lambda v: v, load=lambda d: dict(d))


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Counting:
    """A compute function that records which organizations it was asked for."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.version = 0

    def __call__(self, orgs: Sequence[OrgRef]) -> dict[int, dict[str, int]]:
        self.calls.append([o.id for o in orgs])
        return {o.pk: {"org": o.pk, "version": self.version} for o in orgs}


def outcome(metrics: Metrics, outcome: str, backend: str = "memory") -> float:
    value = metrics.registry.get_sample_value(
        "tallyboard_cache_requests_total", {"backend": backend, "outcome": outcome}
    )
    return value or 0.0


def make(
    ttl: float = 60.0, jitter: float = 0.1, fraction: float = 0.5
) -> tuple[PerOrgCache, FakeTime, Metrics]:
    clock = FakeTime()
    metrics = Metrics()
    cache = PerOrgCache(
        MemoryCache(now=clock),
        metrics,
        ttl=ttl,
        jitter=jitter,
        prefix="tb-test",
        random_fraction=lambda: fraction,
    )
    return cache, clock, metrics


def test_keys_hold_the_versioned_prefix_kind_organization_and_resolved_months() -> None:
    cache, _, _ = make()
    key = cache.key("ai_credits", A, NOV)
    assert key == f"tb-test:v1:ai_credits:{A.uuid}:current_month:2026-11..2026-11"
    three = resolve_period(Period.LAST_3_MONTHS, datetime(2026, 11, 21, tzinfo=UTC))
    assert cache.key("ai_credits", A, three).endswith(":last_3_months:2026-09..2026-11")
    december = resolve_period(Period.CURRENT_MONTH, datetime(2026, 12, 1, tzinfo=UTC))
    assert cache.key("ai_credits", A, december) != key
    assert cache.key("api_usage", A, NOV) != key
    assert cache.key("ai_credits", B, NOV) != key


def test_only_missing_organizations_are_computed_and_entries_are_shared() -> None:
    cache, _, metrics = make()
    compute = Counting()
    first = cache.get_many("k", [A, B], NOV, compute, CODEC)
    assert first == {1: {"org": 1, "version": 0}, 2: {"org": 2, "version": 0}}
    compute.version = 1
    second = cache.get_many("k", [B, C], NOV, compute, CODEC)
    assert compute.calls == [["1", "2"], ["3"]]
    assert second == {2: {"org": 2, "version": 0}, 3: {"org": 3, "version": 1}}
    assert (outcome(metrics, "hit"), outcome(metrics, "miss")) == (1, 3)
    # Another kind or period never shares the entries.
    cache.get_many("other", [A], NOV, compute, CODEC)
    assert compute.calls[-1] == ["1"]


def test_entries_expire_after_their_jittered_ttl() -> None:
    cache, clock, metrics = make(ttl=60, jitter=0.1, fraction=1.0)  # the most jitter: 54 s
    compute = Counting()
    cache.get("k", A, NOV, lambda: compute([A])[1], CODEC)
    clock.now += 53.9
    cache.get("k", A, NOV, lambda: compute([A])[1], CODEC)
    assert len(compute.calls) == 1
    clock.now += 0.2
    cache.get("k", A, NOV, lambda: compute([A])[1], CODEC)
    assert len(compute.calls) == 2
    assert outcome(metrics, "hit") == 1


def test_jitter_only_ever_shortens_the_ttl_within_its_fraction() -> None:
    cache = PerOrgCache(MemoryCache(), Metrics(), ttl=60, jitter=0.1)
    ttls = [cache.ttl_for_new_entry() for _ in range(2000)]
    assert all(54 <= ttl <= 60 for ttl in ttls)
    assert max(ttls) - min(ttls) > 3  # actually random, not a constant


def wait_for(condition: Callable[[], bool], deadline: float = 10.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "condition not reached before the deadline"
        time.sleep(0.001)


def run_concurrently(
    cache: PerOrgCache,
    compute: Callable[[], dict[str, int]],
    threads: int,
) -> tuple[list[threading.Thread], list[object]]:
    """Start ``threads`` lookups of one key; return once one leads and the rest wait."""
    results: list[object] = [None] * threads

    def worker(index: int) -> None:
        try:
            results[index] = cache.get("k", A, NOV, compute, CODEC)
        except Exception as exc:
            results[index] = exc

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    key = cache.key("k", A, NOV)
    wait_for(lambda: cache.waiting(key) == threads - 1)
    return workers, results


def test_concurrent_misses_of_one_key_compute_once() -> None:
    cache = PerOrgCache(MemoryCache(), Metrics(), ttl=60, jitter=0)
    release = threading.Event()
    calls: list[int] = []

    def compute() -> dict[str, int]:
        calls.append(1)
        release.wait(10)
        return {"value": 42}

    workers, results = run_concurrently(cache, compute, threads=8)
    release.set()
    for w in workers:
        w.join(10)
    assert calls == [1]
    assert results == [{"value": 42}] * 8


def test_a_failed_computation_fails_its_followers_and_is_not_cached() -> None:
    cache = PerOrgCache(MemoryCache(), Metrics(), ttl=60, jitter=0)
    release = threading.Event()

    def compute() -> dict[str, int]:
        release.wait(10)
        raise LookupError("database went away")

    workers, results = run_concurrently(cache, compute, threads=4)
    release.set()
    for w in workers:
        w.join(10)
    assert all(isinstance(r, LookupError) for r in results)
    assert cache.get("k", A, NOV, lambda: {"value": 1}, CODEC) == {"value": 1}


class DownBackend:
    name = "redis"

    def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        raise CacheUnavailableError("down")

    def set_many(self, items: Sequence[tuple[str, bytes, float]]) -> None:
        raise CacheUnavailableError("down")

    def close(self) -> None:
        pass


def test_an_unavailable_backend_means_answers_from_the_source_and_errors_counted() -> None:
    metrics = Metrics()
    cache = PerOrgCache(DownBackend(), metrics, ttl=60, jitter=0)
    compute = Counting()
    for version in range(3):
        compute.version = version
        assert cache.get_many("k", [A, B], NOV, compute, CODEC)[2] == {"org": 2, "version": version}
    assert len(compute.calls) == 3
    assert outcome(metrics, "error", "redis") == 12  # 2 reads + 2 writes per call
    assert outcome(metrics, "hit", "redis") == 0


def test_unreadable_or_foreign_entries_are_misses_never_answers() -> None:
    cache, _, metrics = make()
    backend = cache.backend
    key_a, key_b = cache.key("k", A, NOV), cache.key("k", B, NOV)
    # An entry of organization B stored under A's key (a bug, or a poisoned Redis).
    foreign = orjson.dumps({"org": B.uuid, "value": {"org": 2, "version": 9}})
    backend.set_many([(key_a, foreign, 60), (key_b, b"\xff not json", 60)])
    compute = Counting()
    result = cache.get_many("k", [A, B], NOV, compute, CODEC)
    assert result == {1: {"org": 1, "version": 0}, 2: {"org": 2, "version": 0}}
    assert compute.calls == [["1", "2"]]
    assert outcome(metrics, "miss") == 2


def test_a_computation_must_answer_for_every_organization() -> None:
    cache, _, _ = make()
    with pytest.raises(RuntimeError, match=B.uuid):
        cache.get_many("k", [A, B], NOV, lambda orgs: {A.pk: {"x": 1}}, CODEC)
    # Nothing was left in flight: the next request computes normally.
    assert cache.get_many("k", [B], NOV, Counting(), CODEC) == {2: {"org": 2, "version": 0}}


def test_a_window_is_keyed_by_its_months_not_by_today() -> None:
    cache, _, _ = make()
    later = PeriodWindow(NOV.period, NOV.months, NOV.today.replace(day=29))
    assert cache.key("k", A, later) == cache.key("k", A, NOV)
