"""The bounded LRU cache: bounded by entries and by accounted size, least recently
used out first."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.cache.bounded import BoundedCache


def test_the_least_recently_used_entry_goes_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=3, max_size=100)
    for key in "abc":
        assert cache.put(key, ord(key), 1)
    assert cache.get("a") == ord("a")  # a is now the most recently used
    cache.put("d", 4, 1)
    assert cache.get("b") is None
    assert [cache.get(k) for k in "acd"] == [ord("a"), ord("c"), 4]


def test_peeking_does_not_make_an_entry_recent() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=2, max_size=100)
    cache.put("a", 1, 1)
    cache.put("b", 2, 1)
    assert cache.peek("a") == 1
    cache.put("c", 3, 1)
    assert cache.peek("a") is None
    assert cache.peek("b") == 2
    assert cache.peek("missing") is None


def test_the_size_bound_evicts_as_many_entries_as_a_large_one_needs() -> None:
    cache: BoundedCache[str, str] = BoundedCache(max_entries=100, max_size=10)
    for key in "abcde":
        cache.put(key, key, 2)
    assert cache.size == 10
    cache.put("big", "big", 7)
    assert cache.size == 9
    assert len(cache) == 2
    assert cache.get("e") == "e"  # the most recent small entry survived
    assert cache.get("big") == "big"


def test_an_entry_larger_than_the_whole_cache_is_not_cached_and_evicts_nothing() -> None:
    cache: BoundedCache[str, str] = BoundedCache(max_entries=10, max_size=10)
    cache.put("a", "a", 5)
    assert not cache.put("huge", "huge", 11)
    assert cache.get("huge") is None
    assert cache.get("a") == "a"
    assert not BoundedCache[str, str](max_entries=0, max_size=10).put("a", "a", 1)


def test_replacing_a_key_accounts_only_its_new_size() -> None:
    cache: BoundedCache[str, str] = BoundedCache(max_entries=10, max_size=10)
    cache.put("a", "first", 6)
    cache.put("a", "second", 3)
    assert cache.size == 3
    assert cache.get("a") == "second"


def test_negative_bounds_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        BoundedCache[str, str](max_entries=-1, max_size=10)


@given(
    st.lists(st.tuples(st.integers(0, 30), st.integers(0, 12)), max_size=200),
    st.integers(0, 8),
    st.integers(0, 40),
)
def test_both_bounds_always_hold(
    puts: list[tuple[int, int]], max_entries: int, max_size: int
) -> None:
    cache: BoundedCache[int, int] = BoundedCache(max_entries, max_size)
    for key, size in puts:
        stored = cache.put(key, size, size)
        assert stored == (size <= max_size and max_entries > 0)
        if stored:
            assert cache.get(key) == size  # what was just put is always there
        assert len(cache) <= max_entries
        assert cache.size <= max_size


def test_concurrent_use_keeps_the_bounds() -> None:
    cache: BoundedCache[int, int] = BoundedCache(max_entries=50, max_size=500)

    def work(offset: int) -> None:
        for i in range(2000):
            cache.put(offset + i % 97, i, i % 13)
            cache.get(offset + (i * 7) % 97)

    threads = [threading.Thread(target=work, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) <= 50
    assert cache.size <= 500


def test_an_entry_answers_only_under_the_stamp_it_was_stored_with() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4)
    cache.put_current("org", (7, 1), 42)
    assert cache.get_current("org", (7, 1)) == 42
    assert cache.get_current("org", (7, 2)) is None  # a writer bumped the version
    assert cache.get("org") is None  # a stamped entry never answers an unstamped read
    cache.put("plain", 1)
    assert cache.get_current("plain", (7, 1)) is None


def test_entries_expire_after_their_time_to_live() -> None:
    now = [100.0]
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4, ttl=5, timer=lambda: now[0])
    cache.put("k", 1)
    now[0] = 104.9
    assert cache.get("k") == 1 and cache.peek("k") == 1
    now[0] = 105.0
    assert cache.get("k") is None and cache.peek("k") is None


def test_a_cache_of_no_entries_keeps_nothing_and_clear_empties() -> None:
    off: BoundedCache[str, int] = BoundedCache(max_entries=0)
    assert off.put("k", 1) is False and off.get("k") is None
    cache: BoundedCache[str, int] = BoundedCache(max_entries=3)
    for key in "abc":
        cache.put(key, 1)
    cache.discard("a")
    assert cache.get("a") is None and len(cache) == 2
    cache.clear()
    assert len(cache) == 0


def test_peeking_honours_the_stamp_and_leaves_the_order_alone() -> None:
    cache: BoundedCache[str, int] = BoundedCache(max_entries=2)
    cache.put_current("a", b"blob-1", 1)
    cache.put("b", 2)
    assert cache.peek_current("a", b"blob-1") == 1
    assert cache.peek_current("a", b"blob-2") is None  # the entry was rewritten
    cache.put("c", 3)  # peeking did not make "a" recent: it goes first
    assert cache.peek_current("a", b"blob-1") is None
    assert cache.peek("b") == 2


def test_an_entry_may_carry_its_own_time_to_live() -> None:
    now = [0.0]
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4, ttl=10, timer=lambda: now[0])
    cache.put("short", 1, ttl=2)
    cache.put("default", 2)
    now[0] = 2.0
    assert cache.get_many(["short", "default", "absent"]) == [None, 2, None]
    now[0] = 10.0
    assert cache.get("default") is None


def test_entries_without_a_time_to_live_never_expire() -> None:
    now = [0.0]
    cache: BoundedCache[str, int] = BoundedCache(max_entries=4, timer=lambda: now[0])
    cache.put("k", 1)
    now[0] = 1e12
    assert cache.get("k") == 1


def test_peeking_at_many_keys_checks_each_stamp_and_time_to_live() -> None:
    now = [0.0]
    cache: BoundedCache[str, int] = BoundedCache(max_entries=8, timer=lambda: now[0])
    cache.put_current("a", b"1", 1)
    cache.put_current("b", b"2", 2, ttl=5)
    cache.put("c", 3, ttl=5)
    assert cache.peek_many_current(["a", "b", "x"], [b"1", b"2", b"1"]) == [1, 2, None]
    assert cache.peek_many_current(["a"], [b"other"]) == [None]
    now[0] = 5.0
    assert cache.peek_many_current(["a", "b"], [b"1", b"2"]) == [1, None]
    assert cache.peek_many(["c", "a"]) == [None, None]  # expired; stamped
