"""Operations endpoints: liveness, readiness and Prometheus metrics.

``/healthz`` and ``/metrics`` never touch the database or a worker thread, so they
answer while the database hangs and while every worker thread is stuck on it.
``/readyz`` asks the database on a thread of its own and waits at most
``READY_WAIT`` seconds; at most one check is in flight (a hung check is not joined by
another one per probe), and every "not ready" says why (docs/operations.md).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import anyio
import anyio.to_thread
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

from tallyboard.api.http.errors import json_response
from tallyboard.domain.errors import NotMigratedError, ServiceUnavailableError
from tallyboard.observability.metrics import Metrics

__all__ = ["READY_WAIT", "OpsEndpoints"]

log = logging.getLogger(__name__)

READY_WAIT = 2.0
"""Seconds ``/readyz`` waits for the database before answering "not ready"."""


def _not_ready(reason: str) -> Response:
    return json_response(
        {"status": "not ready", "reason": reason}, 503, headers={"Cache-Control": "no-store"}
    )


class OpsEndpoints:
    """``check_ready`` raises unless the database answers with the expected schema
    (``storage.migrate.check_migrated`` bound to the database, wired by the app)."""

    def __init__(self, metrics: Metrics, check_ready: Callable[[], None]) -> None:
        self._metrics = metrics
        self._check_ready = check_ready
        self._checking_since: float | None = None
        self._started = False
        self._limiter: anyio.CapacityLimiter | None = None

    async def healthz(self, request: Request) -> Response:
        """The process is up and serving (says nothing about its dependencies)."""
        return json_response({"status": "ok"})

    async def readyz(self, request: Request) -> Response:
        """The database answers and has the expected schema: safe to route traffic here."""
        since = self._checking_since
        if since is not None:
            return _not_ready(
                f"the database has not answered the readiness check for "
                f"{time.monotonic() - since:.0f} s"
            )
        if self._limiter is None:  # created on the loop that uses it
            self._limiter = anyio.CapacityLimiter(1)
        self._checking_since = time.monotonic()
        self._started = False
        try:
            with anyio.fail_after(READY_WAIT):
                await anyio.to_thread.run_sync(
                    self._check, abandon_on_cancel=True, limiter=self._limiter
                )
        except TimeoutError:
            if not self._started:  # cancelled before the thread ran: nothing in flight
                self._checking_since = None
            return _not_ready(f"the database did not answer within {READY_WAIT:g} s")
        except NotMigratedError as exc:
            return _not_ready(exc.message)
        except ServiceUnavailableError as exc:
            return _not_ready(f"the database is unavailable ({exc.kind.partition(':')[2]})")
        except Exception as exc:  # any other failure to read the schema means "not ready"
            log.warning("readiness check failed", extra={"error": type(exc).__name__})
            return _not_ready("the database could not be checked")
        return json_response({"status": "ready"})

    def _check(self) -> None:
        """In a worker thread; a hung one keeps ``_checking_since`` until it returns."""
        self._started = True
        try:
            self._check_ready()
        finally:
            self._checking_since = None

    async def metrics(self, request: Request) -> Response:
        return Response(self._metrics.render(), media_type=CONTENT_TYPE_LATEST)
