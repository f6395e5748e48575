"""``POST /oauth/token``: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4).

Accepts form-encoded (the RFC's form) or JSON bodies, and client authentication either
in the body or with HTTP Basic (RFC 6749 §2.3.1). Errors use the RFC's JSON shape:
``{"error": "invalid_client", "error_description": "..."}``; too many failed attempts
from one address or for one client id answer ``429`` with ``Retry-After`` and
``{"error": "temporarily_unavailable", ...}``.
"""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs, unquote_plus

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.oauth import OAuthService
from tallyboard.access.oauth_throttle import OAuthThrottle, ThrottledError
from tallyboard.api.error_table import headers_for, status_for
from tallyboard.api.http.body import read_body
from tallyboard.api.http.errors import json_response
from tallyboard.domain.errors import OAuthError, PayloadTooLargeError

__all__ = ["TokenEndpoint"]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_MAX_BODY = 16 * 1024


def _oauth_error(error: OAuthError) -> Response:
    """RFC 6749's error shape; status and headers from the one error table."""
    headers = {**_NO_STORE, **headers_for(error)}
    return json_response(
        {"error": error.error, "error_description": error.message}, status_for(error), headers
    )


def _basic_credentials(header: str | None) -> tuple[str, str] | None:
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "malformed Basic credentials") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "malformed Basic credentials")
    return unquote_plus(client_id), unquote_plus(secret)


def _fields(body: bytes, content_type: str) -> dict[str, str]:
    if "json" in content_type:
        try:
            data = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            raise OAuthError("invalid_request", "the body is not valid JSON") from None
        if not isinstance(data, dict):
            raise OAuthError("invalid_request", "the body must be a JSON object")
        return {k: v for k, v in data.items() if isinstance(v, str)}
    try:
        parsed = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise OAuthError("invalid_request", "the body is not UTF-8") from None
    for key, values in parsed.items():
        if len(values) > 1:
            raise OAuthError("invalid_request", f"parameter {key} is repeated")
    return {k: v[0] for k, v in parsed.items()}


class TokenEndpoint:
    """The token endpoint; with a throttle, failed attempts are counted per address and
    per client id and answered ``429`` once too many (``access.oauth_throttle``)."""

    def __init__(self, oauth: OAuthService, throttle: OAuthThrottle | None = None) -> None:
        self._oauth = oauth
        self._throttle = throttle

    async def handle(self, request: Request) -> Response:
        host = request.client.host if request.client else None
        client_id: str | None = None
        try:
            self._check(None, host)  # a throttled address costs no body read either
            body = await read_body(request, _MAX_BODY)
            fields = _fields(body, request.headers.get("content-type", ""))
            basic = _basic_credentials(request.headers.get("authorization"))
            if basic is not None and ("client_id" in fields or "client_secret" in fields):
                raise OAuthError(
                    "invalid_request", "use either HTTP Basic or body parameters, not both"
                )
            client_id, secret = basic or (fields.get("client_id"), fields.get("client_secret"))
            self._check(client_id, host)
            issued = await anyio.to_thread.run_sync(
                self._oauth.issue, fields.get("grant_type"), client_id, secret
            )
        except ThrottledError as exc:
            return _oauth_error(exc)
        except OAuthError as exc:
            self._failed(client_id, host)
            return _oauth_error(exc)
        except PayloadTooLargeError:
            self._failed(None, host)
            return _oauth_error(OAuthError("invalid_request", "the request body is too large"))
        if self._throttle is not None and client_id:
            self._throttle.succeeded(client_id, host)
        return json_response(
            {
                "access_token": issued.access_token,
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
            },
            headers=_NO_STORE,
        )

    def _check(self, client_id: str | None, host: str | None) -> None:
        if self._throttle is not None:
            self._throttle.check(client_id, host)

    def _failed(self, client_id: str | None, host: str | None) -> None:
        if self._throttle is not None:
            self._throttle.failed(client_id, host)
