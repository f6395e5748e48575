"""The HTTP protocol Tallyboard serves with: uvicorn's httptools protocol plus header
and body deadlines and a JSON answer at the connection limit.

uvicorn 0.54 bounds idle *keep-alive* connections (``timeout_keep_alive``) but not a
connection that never completes its request headers: ``connection_made`` arms no
timer, and ``data_received`` disarms the keep-alive one at the first byte. A silent
socket, or one trickling a header byte now and then, therefore lives forever and
holds a file descriptor (issue 11, item 7: 19,990 of them exhausted the process).
This subclass gives every request ``header_timeout`` seconds from the moment the
server starts waiting for it (connection open, or first byte after a keep-alive
pause) to its last header byte; then a connection that sent nothing is closed and one
that sent part of a request gets ``408`` and is closed. Likewise a body must arrive
within ``body_timeout`` seconds of its headers (issue 11, item 6): on expiry the
request's :class:`BodyClock` is marked and the application woken; the middleware
turns that into the endpoint's own ``408``.

uvicorn's own ``limit_concurrency`` answers ``503`` in plain text; here the same
check (open connections or running requests at the limit) answers in the JSON error
shape of the path, with ``Retry-After``, so clients never see a non-JSON error.

The smallest mechanism that works: timers on the event loop, the kind uvicorn uses
for keep-alive, armed per connection and only when a read leaves headers or a body
incomplete -- a request that arrives whole costs no timer at all (a timer per request
cost ~4 us, an ``asyncio.timeout`` per ``receive`` ~8 us).
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from tallyboard.api.http.errors import error_document
from tallyboard.observability.metrics import Metrics

__all__ = ["BODY_CLOCK_KEY", "METRICS_STATE_KEY", "BodyClock", "TallyboardHttpProtocol"]

METRICS_STATE_KEY = "tallyboard_metrics"
"""Where the application's lifespan state holds its :class:`Metrics` for this layer."""
BODY_CLOCK_KEY = "tallyboard.body_clock"
"""The scope key of a request's :class:`BodyClock`."""

_RETRY_AFTER = 1
_AT_LIMIT = "The server is at its connection limit; retry after 1 second"


class BodyClock:
    """A request's body deadline, shared by the protocol (which runs the timer) and the
    middleware (which turns an expiry into ``RequestTimeoutError``: the endpoint's 408)."""

    __slots__ = ("expired", "timeout")

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.expired = False


class TallyboardHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float = 10.0,
        body_timeout: float = 30.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._body_clock: BodyClock | None = None
        self._partial_request = False
        # uvicorn's check is replaced by ours (same rule, JSON answer): _start_asgi_task.
        self._connection_limit = self.limit_concurrency
        self.limit_concurrency = None

    # ---------------------------------------------------------------- deadlines
    # A request that arrives whole in one read (the usual case) arms no timer at all:
    # timers are armed only for headers or a body still incomplete after a read.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        cycle = self.cycle
        if cycle is None or cycle.response_complete:
            if self._partial_request and self._header_timer is None:
                self._header_timer = self.loop.call_later(
                    self._header_timeout, self._headers_too_slow
                )
        elif cycle.more_body and self._body_timer is None and self._body_clock is not None:
            self._body_timer = self.loop.call_later(self._body_timeout, self._body_too_slow)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._partial_request = True
        self._body_clock = BodyClock(self._body_timeout)
        self.scope[BODY_CLOCK_KEY] = self._body_clock  # type: ignore[literal-required]

    def on_headers_complete(self) -> None:
        self._partial_request = False
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._cancel_body_timer()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        self._cancel_body_timer()  # answered without reading the whole body (413...)
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self._header_timer, self._body_timer):
            if timer is not None:
                timer.cancel()
        self._header_timer = self._body_timer = None
        super().connection_lost(exc)

    def _cancel_body_timer(self) -> None:
        if self._body_timer is not None:
            self._body_timer.cancel()
            self._body_timer = None

    def _body_too_slow(self) -> None:
        """Wake the application: its next ``receive`` ends in a 408 (the middleware)."""
        self._body_timer = None
        if self._body_clock is not None and self.cycle is not None:
            self._body_clock.expired = True
            self.cycle.message_event.set()

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being served: its body has its own deadline
        metrics = self.app_state.get(METRICS_STATE_KEY)
        if isinstance(metrics, Metrics):
            metrics.header_timeouts.inc()
        if self._partial_request:
            cid = uuid.uuid4().hex
            message = f"The request headers did not arrive within {self._header_timeout:g} seconds"
            body = error_document("", "BAD_REQUEST", message, cid)
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"connection: close\r\nx-correlation-id: " + cid.encode() + b"\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body
            )
        self.transport.close()

    # ---------------------------------------------------------------- connection limit

    def _start_asgi_task(self, cycle: RequestResponseCycle, app: Any) -> None:
        limit = self._connection_limit
        if limit is not None and (len(self.connections) >= limit or len(self.tasks) >= limit):
            metrics = self.app_state.get(METRICS_STATE_KEY)
            if isinstance(metrics, Metrics):
                metrics.connections_refused.inc()
            app = _at_limit
        super()._start_asgi_task(cycle, app)


async def _at_limit(scope: Any, receive: Any, send: Any) -> None:
    cid = uuid.uuid4().hex
    body = error_document(scope["path"], "SERVICE_UNAVAILABLE", _AT_LIMIT, cid)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(_RETRY_AFTER).encode()),
        (b"x-correlation-id", cid.encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})
