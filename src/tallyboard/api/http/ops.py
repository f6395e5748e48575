"""Operations endpoints: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

import logging

import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.api.context import Services
from tallyboard.api.http.errors import json_response
from tallyboard.domain.errors import NotMigratedError
from tallyboard.storage.migrate import check_migrated

__all__ = ["OpsEndpoints"]

log = logging.getLogger(__name__)


class OpsEndpoints:
    def __init__(self, services: Services) -> None:
        self._services = services

    async def healthz(self, request: Request) -> Response:
        """The process is up and serving (says nothing about its dependencies)."""
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """The database answers and has the expected schema: safe to route traffic here."""
        try:
            await anyio.to_thread.run_sync(check_migrated, self._services.database)
        except NotMigratedError as exc:
            return json_response({"status": "not ready", "reason": exc.message}, 503)
        except Exception as exc:  # any failure to reach the database means "not ready"
            log.warning("readiness check failed", extra={"error": type(exc).__name__})
            return json_response(
                {"status": "not ready", "reason": "the database is unreachable"}, 503
            )
        return json_response({"status": "ready"})

    async def metrics(self, request: Request) -> Response:
        return Response(self._services.metrics.render(), media_type=CONTENT_TYPE_LATEST)
