"""HTTP statuses: the one place the error tree becomes status codes for plain endpoints.

Body: ``{"error": {"code", "message", "correlation_id", "problems"?}}``.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from tallyboard.domain.errors import (
    BadRequestError,
    InvalidInputError,
    NotMigratedError,
    OverloadedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    QueryTooComplexError,
    RateLimitedError,
    TallyboardError,
    UnauthorizedError,
)
from tallyboard.observability.logging import correlation_id

__all__ = ["error_response", "json_response", "status_for"]

_STATUS: tuple[tuple[type[TallyboardError], int], ...] = (
    (PayloadTooLargeError, 413),
    (BadRequestError, 400),
    (InvalidInputError, 422),
    (UnauthorizedError, 401),
    (PermissionDeniedError, 403),
    (QueryTooComplexError, 400),
    (RateLimitedError, 429),
    (OverloadedError, 429),
    (NotMigratedError, 503),
)


def status_for(error: TallyboardError) -> int:
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


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
    headers: dict[str, str] = {}
    if isinstance(error, (RateLimitedError, OverloadedError)):
        headers["Retry-After"] = str(error.retry_after)
    if isinstance(error, UnauthorizedError):
        headers["WWW-Authenticate"] = "Bearer"
    return json_response({"error": body}, status_for(error), headers)
