"""The one error tree of Tallyboard.

Every failure a user can cause is a subclass of :class:`TallyboardError` carrying a
stable ``code``. Errors carry no HTTP status: the edges share one table from codes to
HTTP statuses and headers (``tallyboard.api.error_table``), and GraphQL answers carry
the code as ``extensions.code`` (``tallyboard.api.graphql.errors``).
Anything that is *not* a ``TallyboardError`` is a bug and is reported to clients as
an opaque ``INTERNAL_SERVER_ERROR`` (logged with its correlation id).

    TallyboardError
    ├── ClientError                (the caller can fix it)
    │   ├── BadRequestError        BAD_REQUEST
    │   │   ├── PayloadTooLargeError   (HTTP 413)
    │   │   └── RequestTimeoutError    (HTTP 408: the body did not arrive in time)
    │   ├── InvalidInputError      INVALID_INPUT (carries every Problem at once)
    │   ├── UnauthorizedError      UNAUTHORIZED
    │   ├── PermissionDeniedError  PERMISSION_DENIED
    │   ├── QueryTooComplexError   QUERY_TOO_COMPLEX
    │   ├── RateLimitedError       RATE_LIMITED (carries retry_after)
    │   └── OAuthError             OAUTH_ERROR (carries RFC 6749's ``error``, e.g.
    │                              invalid_client; answered in the RFC's shape)
    └── ServiceError               (ours to fix or wait out)
        ├── NotMigratedError
        ├── OverloadedError        (carries retry_after)
        └── ServiceUnavailableError  SERVICE_UNAVAILABLE (carries retry_after: the
                                     database is unreachable, stalled or full)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "BadRequestError",
    "ClientError",
    "InvalidInputError",
    "NotMigratedError",
    "OAuthError",
    "OverloadedError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Problem",
    "QueryTooComplexError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServiceError",
    "ServiceUnavailableError",
    "TallyboardError",
    "UnauthorizedError",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input: where (a dotted/indexed path) and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class TallyboardError(Exception):
    code = "INTERNAL_SERVER_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ClientError(TallyboardError):
    """The request was wrong; retrying the same request will fail the same way."""


class ServiceError(TallyboardError):
    """Tallyboard cannot serve the request right now; the request itself was fine."""


class BadRequestError(ClientError):
    code = "BAD_REQUEST"


class PayloadTooLargeError(BadRequestError):
    pass


class RequestTimeoutError(BadRequestError):
    """The request body did not arrive within its deadline (a slow or stalled sender)."""


class InvalidInputError(ClientError):
    code = "INVALID_INPUT"

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid input")


class UnauthorizedError(ClientError):
    """Missing, malformed, unknown, expired, revoked or wrong-kind credential.

    All of these deliberately share one message so a caller cannot probe which
    tokens exist or why one stopped working.
    """

    code = "UNAUTHORIZED"
    MESSAGE = "Missing or invalid credential"

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


class PermissionDeniedError(ClientError):
    """The caller may not do this here. Unknown organizations answer the same way."""

    code = "PERMISSION_DENIED"
    MESSAGE = "You do not have permission to perform this action on this organization"

    def __init__(self, message: str = MESSAGE) -> None:
        super().__init__(message)


class QueryTooComplexError(ClientError):
    code = "QUERY_TOO_COMPLEX"


class RateLimitedError(ClientError):
    code = "RATE_LIMITED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OAuthError(ClientError):
    """An RFC 6749 §5.2 error response: ``error`` code plus a human description.

    Its HTTP status follows from ``error`` in the edge's error table (``invalid_client``
    is 401, a throttled client 429, everything else 400)."""

    code = "OAUTH_ERROR"

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


class NotMigratedError(ServiceError):
    code = "NOT_MIGRATED"


class OverloadedError(ServiceError):
    code = "OVERLOADED"

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailableError(ServiceError):
    """A dependency (the database) is unreachable, stalled or full: not the caller's
    fault, and the same request may succeed after ``retry_after`` seconds.

    ``kind`` names the failure for logs and metrics (e.g. ``database:SQLITE_FULL``) and
    ``where`` what was unavailable (the database URL, password hidden): for operators
    (logs, the command line), never sent to a client."""

    code = "SERVICE_UNAVAILABLE"

    def __init__(
        self,
        message: str,
        retry_after: int = 1,
        kind: str = "unavailable",
        where: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.kind = kind
        self.where = where

    def __str__(self) -> str:
        return f"{self.message} [{self.kind}]"
