"""Correlation ids and request counting, as plain ASGI middleware (no per-request task)."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class CorrelationMiddleware:
    """Gives every request an id (a sane incoming ``X-Correlation-ID`` is reused)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

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
        path = scope["path"]
        route = (
            path
            if path in _KNOWN_ROUTES
            else ("/static" if path.startswith("/static") else "other")
        )
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", cid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            self.metrics.http_requests.labels(route, str(status)).inc()
            correlation_id.reset(token)
