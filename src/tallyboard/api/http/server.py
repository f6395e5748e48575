"""The HTTP protocol Tallyboard serves with: uvicorn's httptools protocol plus a header
deadline and a JSON answer at the connection limit.

uvicorn 0.54 bounds idle *keep-alive* connections (``timeout_keep_alive``) but not a
connection that never completes its request headers: ``connection_made`` arms no
timer, and ``data_received`` disarms the keep-alive one at the first byte. A silent
socket, or one trickling a header byte now and then, therefore lives forever and
holds a file descriptor (issue 11, item 7: 19,990 of them exhausted the process).
This subclass gives every request ``header_timeout`` seconds from the moment the
server starts waiting for it (connection open, or first byte after a keep-alive
pause) to its last header byte; then a connection that sent nothing is closed and one
that sent part of a request gets ``408`` and is closed.

uvicorn's own ``limit_concurrency`` answers ``503`` in plain text; here the same
check (open connections or running requests at the limit) answers in the JSON error
shape of the path, with ``Retry-After``, so clients never see a non-JSON error.

The smallest mechanism that works: a timer per connection on the event loop, the
same kind uvicorn uses for keep-alive; no task, no per-request cost beyond arming and
cancelling it.
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

__all__ = ["METRICS_STATE_KEY", "TallyboardHttpProtocol"]

METRICS_STATE_KEY = "tallyboard_metrics"
"""Where the application's lifespan state holds its :class:`Metrics` for this layer."""

_RETRY_AFTER = 1
_AT_LIMIT = "The server is at its connection limit; retry after 1 second"


class TallyboardHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        header_timeout: float = 10.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._header_timeout = header_timeout
        self._header_timer: asyncio.TimerHandle | None = None
        self._partial_request = False
        # uvicorn's check is replaced by ours (same rule, JSON answer): _start_asgi_task.
        self._connection_limit = self.limit_concurrency
        self.limit_concurrency = None

    # ---------------------------------------------------------------- header deadline

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self.cycle is None or self.cycle.response_complete:
            # Bytes of a new request (possibly after a keep-alive pause): its headers
            # must now arrive before the deadline.
            self._partial_request = True
            if self._header_timer is None:
                self._arm_header_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        self._partial_request = False
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self._header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

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
