"""Where webhooks may point (spec §10): http or https, never a private address.

A webhook's host that is, or resolves to, a loopback, private, link-local or unspecified
address is refused at apply (the document is invalid) and again at delivery, unless
``TALLYBOARD_WEBHOOK_ALLOW_PRIVATE=true`` -- so a tenancy document cannot turn the
server into a probe of its own network. A name that does not resolve at apply is
accepted (it may exist where the server runs later); delivery checks it again.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

__all__ = ["Resolver", "address_refused", "resolve", "url_problem"]

Resolver = Callable[[str], Iterable[str]]


def resolve(host: str) -> list[str]:
    """Every address ``host`` resolves to; empty when it does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]) for info in infos]


def address_refused(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_unspecified


def url_problem(url: str, *, allow_private: bool, resolver: Resolver = resolve) -> str | None:
    """Why ``url`` may not be a webhook's address, or None."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return "must be an http or https URL"
    if parts.scheme.lower() not in ("http", "https") or not host:
        return "must be an http or https URL with a host"
    if allow_private:
        return None
    try:
        addresses: Iterable[str] = [str(ipaddress.ip_address(host))]
    except ValueError:
        addresses = resolver(host)
    for address in addresses:
        if address_refused(address):
            return (
                f"{host} is or resolves to a loopback, private, link-local or unspecified "
                f"address ({address}); set TALLYBOARD_WEBHOOK_ALLOW_PRIVATE=true to allow it"
            )
    return None
