"""Section 11's admin endpoints (instance admin token only): corrections, closing and
reopening months, the audit log.

Translation only: authenticate (every credential but a valid admin token is the one
``401``), read the parameters, hand them to the service, answer its result as JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.authenticator import Authenticator
from tallyboard.admin.audit import AuditLog, AuditQuery, page_json
from tallyboard.admin.months import MonthService
from tallyboard.api.http.body import read_body
from tallyboard.api.http.errors import error_response, json_response
from tallyboard.domain.audit import Actor
from tallyboard.domain.errors import ServiceUnavailableError, TallyboardError
from tallyboard.ingest.corrections import CorrectionService
from tallyboard.ingest.parser import is_ndjson, parse_events

__all__ = ["CorrectionEndpoints"]

_NO_STORE = {"Cache-Control": "no-store"}


class CorrectionEndpoints:
    def __init__(
        self,
        authenticator: Authenticator,
        audit_log: AuditLog,
        corrections: CorrectionService,
        months: MonthService,
        *,
        max_body_bytes: int,
        max_entries: int,
    ) -> None:
        self._authenticator = authenticator
        self._audit_log = audit_log
        self._corrections = corrections
        self._months = months
        self._max_body_bytes = max_body_bytes
        self._max_entries = max_entries

    async def correct(self, request: Request) -> Response:
        """``POST /v1/admin/corrections``: a JSON array (or NDJSON) of voids and
        adjustments, answered once the applied ones committed (ingest conventions)."""
        try:
            actor = await anyio.to_thread.run_sync(
                self._authenticator.admin_actor, request.headers.get("authorization")
            )
            body = await read_body(request, self._max_body_bytes)
            ndjson = is_ndjson(request.headers.get("content-type"))
            entries = parse_events(body, ndjson=ndjson, max_events=self._max_entries)
            result = await anyio.to_thread.run_sync(self._corrections.correct, entries, actor)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)
        return json_response(result.as_json(), headers=_NO_STORE)

    async def close_month(self, request: Request) -> Response:
        """``POST /v1/admin/months/YYYY-MM/close``: ``{"month", "closed": true}``."""
        return await self._month(request, self._months.close)

    async def reopen_month(self, request: Request) -> Response:
        """``POST /v1/admin/months/YYYY-MM/reopen``: ``{"month", "closed": false}``."""
        return await self._month(request, self._months.reopen)

    async def _month(
        self, request: Request, set_state: Callable[[str, Actor], dict[str, Any]]
    ) -> Response:
        try:
            actor = await anyio.to_thread.run_sync(
                self._authenticator.admin_actor, request.headers.get("authorization")
            )
            month = request.path_params["month"]
            answer = await anyio.to_thread.run_sync(set_state, month, actor)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)
        return json_response(answer, headers=_NO_STORE)

    async def audit(self, request: Request) -> Response:
        """``GET /v1/admin/audit?since=&action=&first=&after=``: newest first."""
        try:
            await anyio.to_thread.run_sync(
                self._authenticator.admin_actor, request.headers.get("authorization")
            )
            params = request.query_params
            query = AuditQuery.parse(
                since=params.get("since"),
                action=params.get("action"),
                first=params.get("first"),
                after=params.get("after"),
            )
            page = await anyio.to_thread.run_sync(self._audit_log.page, query)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)
        return json_response(page_json(page), headers=_NO_STORE)
