"""Throttling failed client authentications at ``/oauth/token``, by address and by client.

Every refused token request costs its sender one token of two buckets: its address's
and -- when it named a client id -- that client id's. A request is answered ``429``
(with ``Retry-After``) before any work when either bucket is empty. So one address
guessing secrets is slowed to ``rate`` attempts per second after a burst, and many
addresses guessing one client's secret are slowed together by the client's bucket,
which is five times larger so that a single address can never drain it alone.

A throttle on a client id must not become a way to lock that client out (the client
id is not a secret). Two rules keep it from being one:
- only *failures* are counted, and an address's own successes never are -- so an
  attacker cannot spend a legitimate client's allowance by sending correct requests;
- an address that authenticated successfully as a client recently (the last
  ``_TRUSTED_PER_CLIENT`` addresses within ``_TRUST_SECONDS``) is exempt from that
  client's bucket; only its own address bucket applies. A deployed client keeps
  minting tokens while strangers hammer its id; only a brand-new address of that
  client may have to wait, and only while the attack lasts.

IPv6 addresses are counted by their /64 network (one host usually owns a whole /64).
Memory is bounded: at most ``max_keys`` buckets per kind and trusted addresses for at
most ``max_keys`` clients, least recently used forgotten first. Per process, like the
GraphQL rate limit.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from tallyboard.access.buckets import TokenBuckets
from tallyboard.domain.errors import OAuthError

__all__ = ["CLIENT_FACTOR", "OAuthThrottle", "ThrottledError", "address_key"]

CLIENT_FACTOR = 5
"""A client id's bucket holds and regains this many times an address's."""
_TRUSTED_PER_CLIENT = 16
_TRUST_SECONDS = 7 * 24 * 3600.0
_MAX_CLIENT_ID = 128
"""Real client ids are 36 characters; longer strings share a bucket by their prefix."""


class ThrottledError(OAuthError):
    """Too many failed attempts: RFC 6749's JSON error shape with HTTP 429 (the edge's
    error table maps ``temporarily_unavailable`` so, with ``Retry-After``).

    ``temporarily_unavailable`` is the RFC 6749 code for a server that cannot answer
    now (§4.1.2.1); ``slow_down`` exists only for the device flow (RFC 8628), and
    ``invalid_request`` would tell a client that retrying is pointless."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "temporarily_unavailable",
            f"Too many failed attempts; retry in {retry_after} s",
        )
        self.retry_after = retry_after


def address_key(host: str | None) -> str:
    """The key an address is counted under (an IPv6 address by its /64)."""
    if not host:
        return "unknown"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class OAuthThrottle:
    def __init__(
        self,
        burst: int,
        rate: float,
        *,
        max_keys: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._addresses = TokenBuckets(rate, burst, max_keys=max_keys, now=now)
        self._clients = TokenBuckets(
            rate * CLIENT_FACTOR, burst * CLIENT_FACTOR, max_keys=max_keys, now=now
        )
        self._trusted: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
        self._max_keys = max_keys
        self._now = now
        self._lock = threading.Lock()

    def check(self, client_id: str | None, host: str | None) -> None:
        """Raise :class:`ThrottledError` if this request must wait; takes nothing."""
        address = address_key(host)
        wait = self._addresses.wait(address)
        if not wait and client_id and not self._is_trusted(client_id, address):
            wait = self._clients.wait(client_id[:_MAX_CLIENT_ID])
        if wait:
            raise ThrottledError(wait)

    def failed(self, client_id: str | None, host: str | None) -> None:
        """Count one refused request against its address and the client id it named."""
        self._addresses.spend(address_key(host))
        if client_id:
            self._clients.spend(client_id[:_MAX_CLIENT_ID])

    def succeeded(self, client_id: str, host: str | None) -> None:
        """Trust this address for this client from now on (see the module docstring)."""
        address = address_key(host)
        with self._lock:
            addresses = self._trusted.get(client_id)
            if addresses is None:
                if len(self._trusted) >= self._max_keys:
                    self._trusted.popitem(last=False)
                addresses = self._trusted[client_id] = OrderedDict()
            self._trusted.move_to_end(client_id)
            addresses.pop(address, None)
            addresses[address] = self._now() + _TRUST_SECONDS
            while len(addresses) > _TRUSTED_PER_CLIENT:
                addresses.popitem(last=False)

    def _is_trusted(self, client_id: str, address: str) -> bool:
        with self._lock:
            addresses = self._trusted.get(client_id)
            until = addresses.get(address) if addresses is not None else None
            return until is not None and until > self._now()
