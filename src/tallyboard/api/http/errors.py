"""Error answers of the plain HTTP endpoints; statuses and headers come from the one
error table (api/error_table.py), shared with the GraphQL edge.

Body: ``{"error": {"code", "message", "correlation_id", "problems"?}}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.api.error_table import headers_for, status_for
from tallyboard.domain.errors import InvalidInputError, TallyboardError
from tallyboard.observability.logging import correlation_id

__all__ = [
    "error_document",
    "error_response",
    "http_exception_response",
    "json_response",
    "raw_error",
    "status_for",
]


def json_response(
    payload: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


def error_response(error: TallyboardError) -> Response:
    body: dict[str, Any] = {
        "code": error.code,
        "message": error.message,
        "correlation_id": correlation_id.get(),
    }
    if isinstance(error, InvalidInputError):
        body["problems"] = [{"path": p.path, "reason": p.reason} for p in error.problems]
    return json_response({"error": body}, status_for(error), headers_for(error))


# ---- answers given outside any endpoint: the middleware's last resort, the server's
# connection limit. Each endpoint family keeps its documented shape.

_OAUTH_ERRORS = {
    "BAD_REQUEST": "invalid_request",
    "SERVICE_UNAVAILABLE": "temporarily_unavailable",
}


def error_document(path: str, code: str, message: str, cid: str) -> bytes:
    """The error body for ``path``: GraphQL's ``errors`` list on ``/graphql``, RFC 6749's
    shape on ``/oauth/token``, ``{"error": {code, message, correlation_id}}`` elsewhere."""
    payload: dict[str, Any]
    if path == "/graphql":
        entry = {"message": message, "extensions": {"code": code, "correlation_id": cid}}
        payload = {"errors": [entry]}
    elif path == "/oauth/token":
        payload = {
            "error": _OAUTH_ERRORS.get(code, "server_error"),
            "error_description": message,
            "correlation_id": cid,
        }
    else:
        payload = {"error": {"code": code, "message": message, "correlation_id": cid}}
    return orjson.dumps(payload)


def raw_error(
    path: str, error: TallyboardError, cid: str
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body of ``error`` for a raw ASGI ``send``."""
    body = error_document(path, error.code, error.message, cid)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
    ]
    for name, value in headers_for(error, challenge=False).items():
        headers.append((name.lower().encode(), value.encode()))
    return status_for(error), headers, body


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


async def http_exception_response(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (unknown path 404, wrong method 405) in the JSON shape of
    the path's endpoint family, instead of plain text."""
    assert isinstance(exc, HTTPException)
    path = request.url.path
    code = "BAD_REQUEST" if path == "/graphql" else _HTTP_CODES.get(exc.status_code, "BAD_REQUEST")
    body = error_document(path, code, exc.detail, correlation_id.get() or "-")
    return Response(
        body, status_code=exc.status_code, headers=exc.headers, media_type="application/json"
    )
