"""Hand-made HTTP/1.1 over raw sockets: clients that are slow, silent or stop halfway --
what httpx will not do on purpose."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass, field
from typing import Any

import orjson

__all__ = ["RawResponse", "open_request", "read_response", "wait_closed"]


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    closed: bool = False
    """The server closed the connection after the response."""

    def json(self) -> Any:
        return orjson.loads(self.body)


def open_request(
    port: int,
    path: str,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    content_length: int | None = None,
    body: bytes = b"",
) -> socket.socket:
    """A connection that sent a request's headers and the first ``body`` bytes of a body
    of ``content_length`` bytes -- and nothing more until the caller sends it."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return sock


def read_response(sock: socket.socket, timeout: float) -> RawResponse:
    """Read one response; ``closed`` tells whether the server then closed the socket
    (within ``timeout``). The socket is closed on our side afterwards."""
    with sock:
        return _read_response(sock, timeout)


def _read_response(sock: socket.socket, timeout: float) -> RawResponse:
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before a response: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    response = RawResponse(int(status_line.split()[1]), headers, rest[:length])
    response.closed = wait_closed(sock, timeout)
    return response


def wait_closed(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes ``sock`` within ``timeout`` seconds (reading and
    discarding anything else it sends)."""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            if not sock.recv(65536):
                return True
    except TimeoutError:
        return False
    except OSError:  # reset by the server: closed too
        return True
    return False
