"""The one error table answers every error exactly as the edges did before it existed."""

from __future__ import annotations

import pytest

from tallyboard.access.oauth_throttle import ThrottledError
from tallyboard.api.error_table import GRAPHQL_VARIABLES, answer_for, headers_for, status_for
from tallyboard.domain.errors import (
    BadRequestError,
    ClientError,
    InvalidInputError,
    NotMigratedError,
    OAuthError,
    OverloadedError,
    PayloadTooLargeError,
    PermissionDeniedError,
    Problem,
    QueryTooComplexError,
    RateLimitedError,
    RequestTimeoutError,
    ServiceUnavailableError,
    TallyboardError,
    UnauthorizedError,
)


@pytest.mark.parametrize(
    ("error", "status", "headers"),
    [
        (PayloadTooLargeError("big"), 413, {}),
        (RequestTimeoutError("slow"), 408, {}),
        (BadRequestError("bad"), 400, {}),
        (InvalidInputError([Problem("first", "too big")]), 422, {}),
        (UnauthorizedError(), 401, {"WWW-Authenticate": "Bearer"}),
        (PermissionDeniedError(), 403, {}),
        (QueryTooComplexError("deep"), 400, {}),
        (RateLimitedError("slow down", 3), 429, {"Retry-After": "3"}),
        (OverloadedError("busy", 2), 429, {"Retry-After": "2"}),
        (NotMigratedError("old"), 503, {}),
        (ServiceUnavailableError("down", 5), 503, {"Retry-After": "5"}),
        (TallyboardError("bug"), 500, {}),
        (ClientError("bug"), 500, {}),
        (OAuthError("invalid_request", "no"), 400, {}),
        (OAuthError("unsupported_grant_type", "no"), 400, {}),
        (OAuthError("invalid_client", "no"), 401, {"WWW-Authenticate": 'Basic realm="tallyboard"'}),
        (ThrottledError(7), 429, {"Retry-After": "7"}),
    ],
)
def test_status_and_headers(error: TallyboardError, status: int, headers: dict[str, str]) -> None:
    assert status_for(error) == status
    assert headers_for(error) == headers


def test_graphql_only_codes() -> None:
    for code in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "QUERY_TOO_COMPLEX"):
        assert answer_for(code).status == 400
    assert answer_for(GRAPHQL_VARIABLES).status == 400  # INVALID_INPUT over GraphQL
    assert answer_for("INTERNAL_SERVER_ERROR").status == 500
    assert answer_for("NO_SUCH_CODE").status == 500


def test_last_resort_answers_send_no_challenge() -> None:
    assert headers_for(UnauthorizedError(), challenge=False) == {}
