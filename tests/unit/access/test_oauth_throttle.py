"""The ``/oauth/token`` throttle: failures by address and by client id, bounded, and no
way to lock a working client out."""

from __future__ import annotations

import pytest

from tallyboard.access.oauth_throttle import (
    CLIENT_FACTOR,
    OAuthThrottle,
    ThrottledError,
    address_key,
)
from tallyboard.api.error_table import status_for
from tallyboard.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.t = 50_000.0

    def __call__(self) -> float:
        return self.t


def refused(throttle: OAuthThrottle, client: str | None, host: str) -> int:
    """The Retry-After of a refusal, or 0 when the request may go ahead."""
    try:
        throttle.check(client, host)
    except ThrottledError as exc:
        caught = exc
    else:
        return 0
    assert status_for(caught) == 429
    assert caught.error == "temporarily_unavailable"
    return caught.retry_after


@pytest.mark.parametrize(
    ("host", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("testclient", "testclient"),
        (None, "unknown"),
    ],
)
def test_addresses_are_counted_by_host_and_ipv6_by_its_64(host: str | None, key: str) -> None:
    assert address_key(host) == key


def test_an_address_is_refused_after_its_burst_of_failures_and_recovers() -> None:
    clock = Clock()
    throttle = OAuthThrottle(burst=3, rate=0.5, now=clock)
    for _ in range(3):
        assert refused(throttle, None, "192.0.2.1") == 0
        throttle.failed(None, "192.0.2.1")
    assert refused(throttle, "tbc_any", "192.0.2.1") == 2
    assert refused(throttle, None, "192.0.2.2") == 0  # another address is not concerned
    clock.t += 2
    assert refused(throttle, None, "192.0.2.1") == 0


def test_successes_are_never_counted() -> None:
    throttle = OAuthThrottle(burst=1, rate=0.001, now=Clock())
    for _ in range(100):
        assert refused(throttle, "tbc_good", "192.0.2.1") == 0
        throttle.succeeded("tbc_good", "192.0.2.1")


def test_many_addresses_failing_for_one_client_are_slowed_together() -> None:
    throttle = OAuthThrottle(burst=2, rate=0.01, now=Clock())
    hosts = [f"198.51.100.{i}" for i in range(CLIENT_FACTOR)]
    for host in hosts:  # each address spends its own burst: 2 x 5 = the client's burst
        for _ in range(2):
            assert refused(throttle, "tbc_victim", host) == 0
            throttle.failed("tbc_victim", host)
    assert refused(throttle, "tbc_victim", "203.0.113.9") > 0  # a fresh address waits
    assert refused(throttle, "tbc_other", "203.0.113.9") == 0  # other clients do not


def test_an_address_that_authenticated_as_the_client_is_not_locked_out() -> None:
    clock = Clock()
    throttle = OAuthThrottle(burst=2, rate=0.01, now=clock)
    throttle.succeeded("tbc_victim", "192.0.2.10")
    for i in range(CLIENT_FACTOR):
        for _ in range(2):
            throttle.failed("tbc_victim", f"198.51.100.{i}")
    assert refused(throttle, "tbc_victim", "203.0.113.9") > 0
    assert refused(throttle, "tbc_victim", "192.0.2.10") == 0
    clock.t += 8 * 24 * 3600  # trust lapses after a week without a success
    for i in range(CLIENT_FACTOR):
        for _ in range(2):
            throttle.failed("tbc_victim", f"198.51.100.{i}")
    assert refused(throttle, "tbc_victim", "192.0.2.10") > 0


def test_memory_stays_bounded_under_a_flood_of_addresses_and_client_ids() -> None:
    throttle = OAuthThrottle(burst=1, rate=0.001, max_keys=50, now=Clock())
    for i in range(1_000):
        throttle.failed(f"tbc_{i}", f"10.0.{i // 256}.{i % 256}")
        throttle.succeeded(f"tbc_{i}", f"10.1.{i // 256}.{i % 256}")
    assert len(throttle._addresses) == 50
    assert len(throttle._clients) == 50
    assert len(throttle._trusted) == 50


def test_the_settings_describe_the_client_factor() -> None:
    for name in ("oauth_failure_burst", "oauth_failure_rate"):
        description = Settings.model_fields[name].description or ""
        assert f"per client id: {CLIENT_FACTOR}x" in description
