"""Token buckets and the per-principal GraphQL rate limiter, on a clock the test moves."""

from __future__ import annotations

import pytest

from tallyboard.access.buckets import TokenBuckets
from tallyboard.access.principal import Principal, PrincipalKind
from tallyboard.access.rate_limit import RateLimiter
from tallyboard.domain.errors import RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.t = 1_000.0

    def __call__(self) -> float:
        return self.t


def test_a_bucket_allows_its_burst_then_refuses_with_the_wait() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.5, burst=3, now=clock)
    assert [buckets.take("k") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("k") == 2  # one token comes back every 2 s
    clock.t += 1
    assert buckets.take("k") == 1  # a refusal takes nothing and does not push the wait
    clock.t += 1
    assert buckets.take("k") == 0
    assert buckets.take("k") == 2


def test_a_bucket_refills_up_to_its_burst_only() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=10, burst=2, now=clock)
    buckets.take("k")
    clock.t += 3_600
    assert [buckets.take("k") for _ in range(3)] == [0, 0, 1]


def test_keys_are_independent() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=1, now=clock)
    assert buckets.take("a") == 0
    assert buckets.take("a") == 1
    assert buckets.take("b") == 0


def test_spending_counts_past_empty_and_wait_only_looks() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=1, burst=2, now=clock)
    assert buckets.wait("k") == 0
    for _ in range(4):
        buckets.spend("k")  # level 2 -> -2 (floored at -burst)
    buckets.spend("k")
    assert buckets.wait("k") == 3  # from -2 back to 1 takes 3 s
    assert buckets.wait("k") == 3  # looking takes nothing
    clock.t += 3
    assert buckets.wait("k") == 0


def test_memory_is_bounded_and_the_least_recently_used_bucket_goes_first() -> None:
    clock = Clock()
    buckets = TokenBuckets(rate=0.001, burst=1, max_keys=3, now=clock)
    for key in ("a", "b", "c"):
        assert buckets.take(key) == 0
    assert buckets.take("a") > 0  # touches "a": now "b" is the oldest
    assert buckets.take("d") == 0  # evicts "b"
    assert len(buckets) == 3
    assert buckets.take("b") == 0  # forgotten: a fresh, full bucket
    assert buckets.take("a") > 0 and buckets.take("d") > 0


@pytest.mark.parametrize(("rate", "burst", "keys"), [(0, 1, 1), (1, 0, 1), (1, 1, 0)])
def test_nonsense_parameters_are_refused(rate: float, burst: int, keys: int) -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBuckets(rate, burst, max_keys=keys)


def principal(kind: PrincipalKind, pk: int, credential: str) -> Principal:
    return Principal(kind=kind, pk=pk, billing_org_pk=1, token_label="x", credential_key=credential)


def test_the_limiter_counts_by_principal_not_by_credential() -> None:
    clock = Clock()
    limiter = RateLimiter(rate=1, burst=2, now=clock)
    first = principal(PrincipalKind.SERVICE_ACCOUNT, 7, "token-1")
    second = principal(PrincipalKind.SERVICE_ACCOUNT, 7, "token-2")
    limiter.check(first.rate_key)
    limiter.check(second.rate_key)
    with pytest.raises(RateLimitedError) as refused:
        limiter.check(principal(PrincipalKind.SERVICE_ACCOUNT, 7, "token-3").rate_key)
    assert refused.value.retry_after == 1
    assert "service account or user" in refused.value.message
    # A user with the same pk is another principal.
    limiter.check(principal(PrincipalKind.USER, 7, "token-1").rate_key)
    clock.t += 1
    limiter.check(first.rate_key)
