"""``POST /v1/events`` (ingest key) and ``POST /v1/admin/backfill`` (instance admin token).

Translation only: authenticate, read the body within its byte limit (413), its time
limit (408, enforced by the middleware) and the process's body-byte budget (429), then
take a place under backpressure (429 beyond it) and hand the batch to the ingest
service in one worker-thread hop. A place is taken only by a complete body, so slow
senders cannot hold producers out (ingest/backpressure.py). The response is sent after
the service has committed.
"""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.authenticator import Authenticator
from tallyboard.api.http.body import read_body
from tallyboard.api.http.errors import error_response, json_response
from tallyboard.domain.audit import Actor
from tallyboard.domain.errors import BadRequestError, ServiceUnavailableError, TallyboardError
from tallyboard.ingest.backpressure import Backpressure
from tallyboard.ingest.parser import is_ndjson
from tallyboard.ingest.service import IngestService
from tallyboard.observability.metrics import Metrics

__all__ = ["EventsEndpoint"]


class EventsEndpoint:
    def __init__(
        self,
        authenticator: Authenticator,
        ingest: IngestService,
        backpressure: Backpressure,
        metrics: Metrics,
        max_body_bytes: int,
    ) -> None:
        self._authenticator = authenticator
        self._ingest_service = ingest
        self._backpressure = backpressure
        self._metrics = metrics
        self._max_body_bytes = max_body_bytes

    async def ingest(self, request: Request) -> Response:
        try:
            key = await anyio.to_thread.run_sync(
                self._authenticator.ingest_key, request.headers.get("authorization")
            )
            return await self._ingest(request, key.org_pk, backfill=False)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)

    async def backfill(self, request: Request) -> Response:
        try:
            actor = await anyio.to_thread.run_sync(
                self._authenticator.admin_actor, request.headers.get("authorization")
            )
            return await self._ingest(request, None, backfill=True, actor=actor)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)

    async def _ingest(
        self,
        request: Request,
        bound_org_pk: int | None,
        backfill: bool,
        actor: Actor | None = None,
    ) -> Response:
        gate = self._backpressure
        gate.check()  # every place taken: refuse before reading a body for nothing
        with gate.buffering() as allowance:
            body = await read_body(request, self._max_body_bytes, allowance.charge)
            ndjson = is_ndjson(request.headers.get("content-type"))
            async with gate.admitted(), gate.writing():
                try:
                    result = await anyio.to_thread.run_sync(
                        lambda: self._ingest_service.ingest(
                            body,
                            ndjson=ndjson,
                            bound_org_pk=bound_org_pk,
                            backfill=backfill,
                            actor=actor,
                        )
                    )
                except BadRequestError:
                    self._metrics.ingest_batches.labels("invalid").inc()
                    raise
        return json_response(result.as_json(), headers={"Cache-Control": "no-store"})
