"""``GET /v1/admin/webhook-deliveries?status=...``: webhook deliveries (admin token)."""

from __future__ import annotations

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.access.authenticator import Authenticator
from tallyboard.alerts.deliveries import WebhookDeliveries
from tallyboard.api.http.errors import error_response, json_response
from tallyboard.domain.errors import ServiceUnavailableError, TallyboardError

__all__ = ["WebhookDeliveriesEndpoint"]


class WebhookDeliveriesEndpoint:
    def __init__(self, authenticator: Authenticator, deliveries: WebhookDeliveries) -> None:
        self._authenticator = authenticator
        self._deliveries = deliveries

    async def handle(self, request: Request) -> Response:
        try:
            await anyio.to_thread.run_sync(
                self._authenticator.admin, request.headers.get("authorization")
            )
            status = request.query_params.get("status")
            listing = await anyio.to_thread.run_sync(self._deliveries.listing, status)
        except ServiceUnavailableError:
            raise  # an outage: answered and logged (once per kind) by the middleware
        except TallyboardError as exc:
            return error_response(exc)
        return json_response(listing, headers={"Cache-Control": "no-store"})
