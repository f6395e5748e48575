"""GraphQL error codes: the one place the error tree becomes ``extensions.code``.

A field that failed on the server's side (a bug, or ``SERVICE_UNAVAILABLE`` when the
database failed it) is logged by the endpoint, once per kind per interval
(observability/failures.py), not here once per field.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from tallyboard.domain.errors import InvalidInputError, TallyboardError

__all__ = [
    "BAD_REQUEST",
    "INTERNAL",
    "PARSE_FAILED",
    "PERMISSION_DENIED",
    "QUERY_TOO_COMPLEX",
    "RATE_LIMITED",
    "SERVICE_UNAVAILABLE",
    "UNAUTHORIZED",
    "VALIDATION_FAILED",
    "error_entry",
    "format_error",
]

UNAUTHORIZED = "UNAUTHORIZED"
PERMISSION_DENIED = "PERMISSION_DENIED"
INVALID_INPUT = "INVALID_INPUT"
PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
BAD_REQUEST = "BAD_REQUEST"
RATE_LIMITED = "RATE_LIMITED"
INTERNAL = "INTERNAL_SERVER_ERROR"
SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
"""The database is unreachable, stalled or full (HTTP 503 with ``Retry-After``)."""

INTERNAL_MESSAGE = "Internal server error; quote the correlation_id when reporting it"


def error_entry(message: str, code: str, correlation_id: str, **extensions: Any) -> dict[str, Any]:
    """A request-level error (no path): refused before or instead of execution."""
    return {
        "message": message,
        "extensions": {"code": code, "correlation_id": correlation_id, **extensions},
    }


def format_error(error: GraphQLError, correlation_id: str) -> tuple[dict[str, Any], str]:
    """A field error as the client sees it, and its code."""
    original = error.original_error
    extensions: dict[str, Any] = {}
    if original is None:
        code, message = VALIDATION_FAILED, error.message
    elif isinstance(original, TallyboardError):
        code, message = original.code, original.message
        if isinstance(original, InvalidInputError):
            extensions["problems"] = [
                {"path": p.path, "reason": p.reason} for p in original.problems
            ]
    else:
        code, message = INTERNAL, INTERNAL_MESSAGE
    entry: dict[str, Any] = {"message": message}
    if error.locations:
        entry["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path is not None:
        entry["path"] = list(error.path)
    entry["extensions"] = {"code": code, "correlation_id": correlation_id, **extensions}
    return entry, code
