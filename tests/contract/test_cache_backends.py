"""One contract, every cache backend: in-process and Redis behave alike.

Each test gets keys under a prefix of its own, so tests sharing the Redis server (and
other engineers' runs) never see each other's entries.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis

from tallyboard.cache.backend import CacheBackend, CacheUnavailableError
from tallyboard.cache.memory import MemoryCache
from tallyboard.cache.redis import RedisCache


@pytest.fixture(
    params=[
        pytest.param("memory"),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def backend(request: pytest.FixtureRequest, prefix: str) -> Iterator[CacheBackend]:
    if request.param == "memory":
        cache: CacheBackend = MemoryCache()
        yield cache
        cache.close()
        return
    url = str(request.getfixturevalue("redis_url"))
    cache = RedisCache(url)
    yield cache
    cache.close()
    client = redis.Redis.from_url(url)
    for stored in client.scan_iter(match=f"{prefix}*"):
        client.delete(stored)
    client.close()


@pytest.fixture
def prefix() -> str:
    return f"tbtest:{uuid.uuid4().hex}:"


@pytest.fixture
def key(prefix: str) -> Callable[[str], str]:
    return lambda name: prefix + name


def eventually(condition: Callable[[], bool], deadline: float = 5.0) -> bool:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.01)
    return True


def test_missing_keys_are_none_and_order_is_kept(
    key: Callable[[str], str], backend: CacheBackend
) -> None:
    backend.set_many([(key("b"), b"B", 30)])
    assert backend.get_many([key("a"), key("b"), key("c")]) == [None, b"B", None]
    assert backend.get_many([]) == []


def test_values_round_trip_byte_for_byte_and_keys_never_collide(
    key: Callable[[str], str], backend: CacheBackend
) -> None:
    values = {
        key("org-1"): b'{"org":"1"}',
        key("org-10"): b"\x00\xff binary \n",
        key("org-1:x"): b"",
        key("big"): bytes(range(256)) * 4096,
    }
    backend.set_many([(k, v, 30) for k, v in values.items()])
    assert backend.get_many(list(values)) == list(values.values())


def test_setting_again_replaces_the_value(key: Callable[[str], str], backend: CacheBackend) -> None:
    backend.set_many([(key("k"), b"old", 30)])
    backend.set_many([(key("k"), b"new", 30)])
    assert backend.get_many([key("k")]) == [b"new"]


def test_entries_disappear_after_their_ttl(
    key: Callable[[str], str], backend: CacheBackend
) -> None:
    backend.set_many([(key("short"), b"s", 0.2), (key("long"), b"l", 30)])
    assert eventually(lambda: backend.get_many([key("short")]) == [None])
    assert backend.get_many([key("long")]) == [b"l"]


def test_concurrent_use_from_threads(key: Callable[[str], str], backend: CacheBackend) -> None:
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(50):
                backend.set_many([(key(f"{n}-{i}"), f"{n}-{i}".encode(), 30)])
                assert backend.get_many([key(f"{n}-{i}")]) == [f"{n}-{i}".encode()]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []


def test_an_unreachable_redis_is_reported_quickly_as_unavailable() -> None:
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    cache = RedisCache("redis://127.0.0.1:1/0", retry_interval=60)
    started = time.monotonic()
    with pytest.raises(CacheUnavailableError):
        cache.get_many(["k"])
    # The circuit is open: later calls fail without touching the network.
    with pytest.raises(CacheUnavailableError, match="waiting"):
        cache.set_many([("k", b"v", 1)])
    assert time.monotonic() - started < 5
    cache.close()


def test_redis_is_retried_after_the_interval() -> None:
    now = [0.0]
    cache = RedisCache("redis://127.0.0.1:1/0", retry_interval=5, now=lambda: now[0])
    with pytest.raises(CacheUnavailableError):
        cache.get_many(["k"])
    now[0] = 4.9
    with pytest.raises(CacheUnavailableError, match="waiting"):
        cache.get_many(["k"])
    now[0] = 5.1
    with pytest.raises(CacheUnavailableError) as tried_again:
        cache.get_many(["k"])
    assert "waiting" not in str(tried_again.value)
    cache.close()
