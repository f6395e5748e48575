"""The one error table: how an error code is answered over HTTP (status and headers).

Both edges use it: the GraphQL endpoint for request-level refusals and failed
executions, the plain HTTP endpoints (and the middleware's last-resort answers) for
every ``TallyboardError``, the token endpoint for RFC 6749 errors. The error tree
(domain/errors.py) carries codes, never statuses.

A few codes are answered differently depending on which error carries them, so the
table is keyed by a *kind*: the code, refined where one code has several answers --
``BAD_REQUEST`` is 413 for an oversize body and 408 for one that arrived too late, an
OAuth error's status follows its RFC 6749 ``error``, and GraphQL over HTTP answers a
request whose variables do not fit their types 400 where a plain endpoint's invalid
input is 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tallyboard.domain.errors import (
    OAuthError,
    PayloadTooLargeError,
    RequestTimeoutError,
    TallyboardError,
)

__all__ = [
    "GRAPHQL_VARIABLES",
    "TABLE",
    "ErrorAnswer",
    "answer_for",
    "headers_for",
    "kind_of",
    "status_for",
]


@dataclass(frozen=True, slots=True)
class ErrorAnswer:
    status: int
    retry_after: bool = False
    """Send ``Retry-After`` with the error's ``retry_after`` seconds."""
    challenge: str | None = None
    """``WWW-Authenticate`` to send (RFC 9110 requires one with every 401)."""


GRAPHQL_VARIABLES = "GRAPHQL_VARIABLES"
"""The kind of a GraphQL request refused because its variables do not fit their types
(sent with code ``INVALID_INPUT``)."""

_INTERNAL = ErrorAnswer(500)

TABLE: Mapping[str, ErrorAnswer] = {
    "BAD_REQUEST": ErrorAnswer(400),
    "BAD_REQUEST:PAYLOAD_TOO_LARGE": ErrorAnswer(413),
    "BAD_REQUEST:REQUEST_TIMEOUT": ErrorAnswer(408),
    "INVALID_INPUT": ErrorAnswer(422),
    GRAPHQL_VARIABLES: ErrorAnswer(400),
    "UNAUTHORIZED": ErrorAnswer(401, challenge="Bearer"),
    "PERMISSION_DENIED": ErrorAnswer(403),
    "QUERY_TOO_COMPLEX": ErrorAnswer(400),
    "GRAPHQL_PARSE_FAILED": ErrorAnswer(400),
    "GRAPHQL_VALIDATION_FAILED": ErrorAnswer(400),
    "RATE_LIMITED": ErrorAnswer(429, retry_after=True),
    "OVERLOADED": ErrorAnswer(429, retry_after=True),
    "NOT_MIGRATED": ErrorAnswer(503),
    "SERVICE_UNAVAILABLE": ErrorAnswer(503, retry_after=True),
    "INTERNAL_SERVER_ERROR": _INTERNAL,
    "OAUTH_ERROR": ErrorAnswer(400),
    "OAUTH_ERROR:invalid_client": ErrorAnswer(401, challenge='Basic realm="tallyboard"'),
    "OAUTH_ERROR:temporarily_unavailable": ErrorAnswer(429, retry_after=True),
}


def kind_of(error: TallyboardError) -> str:
    """The table key of ``error``: its code, refined where the code has several answers."""
    if isinstance(error, PayloadTooLargeError):
        return "BAD_REQUEST:PAYLOAD_TOO_LARGE"
    if isinstance(error, RequestTimeoutError):
        return "BAD_REQUEST:REQUEST_TIMEOUT"
    if isinstance(error, OAuthError):
        refined = f"{error.code}:{error.error}"
        return refined if refined in TABLE else error.code
    return error.code


def answer_for(kind: str) -> ErrorAnswer:
    """The answer of a kind (a code, or a refined code); unknown kinds are ours: 500."""
    return TABLE.get(kind, _INTERNAL)


def status_for(error: TallyboardError) -> int:
    return answer_for(kind_of(error)).status


def headers_for(error: TallyboardError, *, challenge: bool = True) -> dict[str, str]:
    """The headers the table asks for ``error``. ``challenge=False``: without
    ``WWW-Authenticate`` (the middleware's last-resort answers never sent one)."""
    answer = answer_for(kind_of(error))
    headers: dict[str, str] = {}
    if answer.retry_after:
        headers["Retry-After"] = str(getattr(error, "retry_after", 1))
    if challenge and answer.challenge is not None:
        headers["WWW-Authenticate"] = answer.challenge
    return headers
