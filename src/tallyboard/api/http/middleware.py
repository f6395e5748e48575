"""The outermost middleware: correlation ids, request counting, the body deadline and the
last-resort error answer -- plain ASGI (no per-request task).

- Every request gets an id (a sane incoming ``X-Correlation-ID`` is reused), returned
  in the ``X-Correlation-ID`` header and in every error body.
- A request whose body missed its deadline (the protocol's :class:`BodyClock`,
  ``body_timeout``) gets ``RequestTimeoutError`` from ``receive`` -- the endpoint's
  408, and the connection is closed: a trickling sender holds nothing for longer
  (issue 11, item 6).
- Anything an endpoint lets escape is answered here in the endpoint's documented JSON
  shape (``api/http/errors.py``): a database outage is 503 ``SERVICE_UNAVAILABLE``
  with ``Retry-After``, a bug is 500 ``INTERNAL_SERVER_ERROR``; neither body carries a
  traceback, SQL or a path. Server-side failures go to the :class:`FailureLog` (one
  line per kind per interval), never one traceback per request.
"""

from __future__ import annotations

import re
import uuid

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tallyboard.api.graphql.errors import INTERNAL_MESSAGE
from tallyboard.api.http.errors import raw_error
from tallyboard.api.http.server import BODY_CLOCK_KEY, BodyClock
from tallyboard.domain.errors import (
    RequestTimeoutError,
    ServiceUnavailableError,
    TallyboardError,
)
from tallyboard.observability.failures import FailureLog
from tallyboard.observability.logging import correlation_id
from tallyboard.observability.metrics import Metrics

__all__ = ["CorrelationMiddleware"]

_ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_KNOWN_ROUTES = frozenset(
    {
        "/graphql",
        "/oauth/token",
        "/v1/events",
        "/v1/admin/apply",
        "/v1/admin/backfill",
        "/healthz",
        "/readyz",
        "/metrics",
        "/",
    }
)
# Answers sent before the body was read to its end: the rest of it (if it ever comes)
# is not worth reading, so the connection is closed after the answer.
_CLOSE_AFTER = frozenset({408, 413})


def _route(path: str) -> str:
    if path in _KNOWN_ROUTES:
        return path
    return "/static" if path.startswith("/static") else "other"


class CorrelationMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics, failures: FailureLog) -> None:
        self.app = app
        self.metrics = metrics
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-correlation-id":
                incoming = value.decode("latin-1")
                break
        cid = incoming if incoming and _ACCEPTABLE_ID.match(incoming) else uuid.uuid4().hex
        token = correlation_id.set(cid)
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode()))
                if status in _CLOSE_AFTER:
                    headers.append((b"connection", b"close"))
                message = {**message, "headers": headers}
            await send(message)

        clock = scope.get(BODY_CLOCK_KEY)  # None in-process (tests' TestClient)
        if clock is not None:
            receive = _bounded(receive, clock)
        try:
            await self.app(scope, receive, send_with_id)
        except ClientDisconnect:
            pass  # the client left: nobody to answer, nothing went wrong here
        except Exception as exc:
            if not started:
                await self._answer(scope, exc, cid, send_with_id)
            else:  # too late for an answer: uvicorn closes the connection
                self._record(scope, exc)
        finally:
            self.metrics.http_requests.labels(_route(scope["path"]), str(status)).inc()
            correlation_id.reset(token)

    async def _answer(self, scope: Scope, exc: Exception, cid: str, send: Send) -> None:
        if isinstance(exc, TallyboardError):
            error = exc
        else:
            error = TallyboardError(INTERNAL_MESSAGE)
        if isinstance(exc, ServiceUnavailableError) or not isinstance(exc, TallyboardError):
            self._record(scope, exc)
        status, headers, body = raw_error(scope["path"], error, cid)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, exc: Exception) -> None:
        kind = exc.kind if isinstance(exc, ServiceUnavailableError) else failure_kind(exc)
        self.failures.record(kind, exc, f"{scope.get('method', '?')} {_route(scope['path'])}")


def _bounded(receive: Receive, clock: BodyClock) -> Receive:
    """``receive``, raising ``RequestTimeoutError`` once the body missed its deadline."""

    async def receive_before_deadline() -> Message:
        message = await receive()
        if clock.expired and message.get("more_body", False):
            raise RequestTimeoutError(
                f"The request body did not arrive within {clock.timeout:g} seconds"
            )
        return message

    return receive_before_deadline


def failure_kind(exc: BaseException) -> str:
    """``bug:<type>`` for an unexpected exception, the outage's kind for an outage."""
    if isinstance(exc, ServiceUnavailableError):
        return exc.kind
    return f"bug:{type(exc).__name__}"
