"""``POST /v1/admin/apply``: the tenancy document over HTTP (instance admin token)."""

from __future__ import annotations

import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.authenticator import Authenticator
from tallyboard.admin.applier import Applier
from tallyboard.admin.draft import read_document
from tallyboard.api.http.body import read_body
from tallyboard.api.http.errors import error_response, json_response
from tallyboard.domain.errors import BadRequestError, ServiceUnavailableError, TallyboardError

__all__ = ["ApplyEndpoint"]

_MAX_DOCUMENT = 5 * 1024 * 1024


class ApplyEndpoint:
    def __init__(self, authenticator: Authenticator, applier: Applier) -> None:
        self._authenticator = authenticator
        self._applier = applier

    async def handle(self, request: Request) -> Response:
        try:
            actor = await anyio.to_thread.run_sync(
                self._authenticator.admin_actor, request.headers.get("authorization")
            )
            body = await read_body(request, _MAX_DOCUMENT)
            try:
                raw = orjson.loads(body)
            except orjson.JSONDecodeError as exc:
                raise BadRequestError(f"The body is not valid JSON: {exc}") from None
            document = read_document(raw)
            result = await anyio.to_thread.run_sync(self._applier.apply, document, actor)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)
        return json_response(result.secrets(), headers={"Cache-Control": "no-store"})
