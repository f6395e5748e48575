"""The composition root's HTTP application: ``create_app(settings)``.

The services come from :func:`tallyboard.components.build_components` (the one place
that wires them, shared with the CLI and the demo); this module adds only the edge:
the endpoints, each given the services it uses, the routes, the middleware and the
lifespan. Nothing connects at import time; the database is first touched when the
application starts (lifespan), which also refuses to start on an unmigrated database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import anyio.to_thread
from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from tallyboard.access.oauth_throttle import OAuthThrottle
from tallyboard.access.rate_limit import RateLimiter
from tallyboard.api.graphql.document_cache import DocumentCache, DocumentLimits
from tallyboard.api.graphql.endpoint import GraphQLEndpoint
from tallyboard.api.graphql.schema import build_schema
from tallyboard.api.http.admin import ApplyEndpoint
from tallyboard.api.http.corrections import CorrectionEndpoints
from tallyboard.api.http.errors import http_exception_response
from tallyboard.api.http.events import EventsEndpoint
from tallyboard.api.http.exports import ExportFileEndpoint
from tallyboard.api.http.middleware import CorrelationMiddleware
from tallyboard.api.http.oauth import TokenEndpoint
from tallyboard.api.http.ops import OpsEndpoints
from tallyboard.api.http.server import METRICS_STATE_KEY
from tallyboard.api.http.webhooks import WebhookDeliveriesEndpoint
from tallyboard.cache.bounded import BoundedCache
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import Clock
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.storage.migrate import check_migrated
from tallyboard.web.routes import routes as web_routes

__all__ = [
    "build_document_cache",
    "build_graphql_endpoint",
    "build_routes",
    "create_app",
    "create_app_from_environment",
    "lifespan_of",
]

log = logging.getLogger(__name__)


def build_token_endpoint(settings: Settings, services: Components) -> TokenEndpoint:
    """``/oauth/token``, throttling failed attempts unless ``oauth_failure_rate`` is 0."""
    throttle = (
        OAuthThrottle(settings.oauth_failure_burst, settings.oauth_failure_rate)
        if settings.oauth_failure_rate
        else None
    )
    return TokenEndpoint(services.oauth, throttle)


def build_document_cache(
    settings: Settings, schema: GraphQLSchema, metrics: Metrics
) -> DocumentCache:
    """Parsed and validated documents under the configured limits and cache bounds."""
    limits = DocumentLimits(
        max_depth=settings.max_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_tokens,
        max_org_uuids=settings.max_org_uuids,
        max_fields=settings.max_fields,
        max_length=settings.max_query_length,
    )
    return DocumentCache(
        schema,
        limits,
        metrics,
        BoundedCache(settings.document_cache_size, settings.document_cache_bytes),
    )


def lifespan_of(
    settings: Settings, components: Components
) -> Callable[[Starlette], AbstractAsyncContextManager[dict[str, Any]]]:
    """Start: refuse an unmigrated database, then the flusher and the housekeeping
    tasks. Stop: the housekeeping, the flusher (after uvicorn answered the in-flight
    requests), then the connections."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await anyio.to_thread.run_sync(check_migrated, components.database)
        if settings.metering:
            await components.flusher.start()
        await components.alerts.dispatcher.start()
        await components.export_builder.start()
        log.info("tallyboard started", extra={"database": components.database.dialect.name})
        retention = asyncio.create_task(components.retention.run(settings.retention_interval))
        pruning = asyncio.create_task(components.token_pruner.run(settings.token_prune_interval))
        # Everything built so far (schema, modules, pools) lives as long as the process:
        # keep it out of the collector's full passes, which then stay short (0009).
        gc.collect()
        gc.freeze()
        try:
            # The lifespan state reaches the HTTP protocol too (api/http/server.py).
            yield {METRICS_STATE_KEY: components.metrics}
        finally:
            for housekeeping in (retention, pruning):
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
            await components.export_builder.stop()
            await components.alerts.dispatcher.stop()
            # After uvicorn has answered the in-flight requests: nothing records any more.
            await components.flusher.stop()
            await anyio.to_thread.run_sync(components.stats_cache.backend.close)
            await anyio.to_thread.run_sync(components.database.dispose)
            log.info("tallyboard stopped")

    return lifespan


def build_graphql_endpoint(settings: Settings, services: Components) -> GraphQLEndpoint:
    """``POST /graphql`` with exactly the services it uses."""
    documents = build_document_cache(settings, build_schema(), services.metrics)
    limiter = (
        RateLimiter(settings.rate_limit, settings.rate_limit_burst) if settings.rate_limit else None
    )
    return GraphQLEndpoint(
        documents,
        queries=services.queries,
        authenticator=services.authenticator,
        reads=services.database,
        clock=services.clock,
        metrics=services.metrics,
        failures=services.failures,
        record=services.accumulator.record if settings.metering else None,
        max_body_bytes=settings.max_body_bytes,
        max_org_uuids=settings.max_org_uuids,
        rate_limiter=limiter,
        inline=settings.inline_execution,
        exports=services.exports,
    )


def build_routes(settings: Settings, services: Components) -> list[BaseRoute]:
    """Every endpoint, each given only the services it uses."""
    graphql = build_graphql_endpoint(settings, services)
    exports = ExportFileEndpoint(services.export_links)
    ops = OpsEndpoints(services.metrics, functools.partial(check_migrated, services.database))
    events = EventsEndpoint(
        services.authenticator,
        services.ingest,
        services.ingest_backpressure,
        services.metrics,
        settings.ingest_max_body_bytes,
    )
    apply = ApplyEndpoint(services.authenticator, services.applier)
    deliveries = WebhookDeliveriesEndpoint(services.authenticator, services.alerts.deliveries)
    corrections = CorrectionEndpoints(
        services.authenticator,
        services.audit_log,
        services.corrections,
        services.months,
        max_body_bytes=settings.ingest_max_body_bytes,
        max_entries=settings.ingest_max_events,
    )
    return [
        Route("/graphql", graphql.handle, methods=["POST"]),  # GraphiQL on GET: web_routes
        Route("/oauth/token", build_token_endpoint(settings, services).handle, methods=["POST"]),
        Route("/v1/admin/apply", apply.handle, methods=["POST"]),
        Route("/v1/events", events.ingest, methods=["POST"]),
        Route("/v1/admin/backfill", events.backfill, methods=["POST"]),
        Route("/v1/admin/webhook-deliveries", deliveries.handle, methods=["GET"]),
        Route("/v1/admin/audit", corrections.audit, methods=["GET"]),
        Route("/v1/admin/corrections", corrections.correct, methods=["POST"]),
        Route("/v1/admin/months/{month}/close", corrections.close_month, methods=["POST"]),
        Route("/v1/admin/months/{month}/reopen", corrections.reopen_month, methods=["POST"]),
        Route("/v1/exports/{export_id}/file", exports.handle, methods=["GET"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/readyz", ops.readyz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
        *web_routes(),
    ]


def create_app(settings: Settings, *, clock: Clock | None = None) -> Starlette:
    """The ASGI application. ``clock`` is for tests; production always uses the system's."""
    components = build_components(settings, clock=clock)
    routes = build_routes(settings, components)
    app = Starlette(
        routes=routes,
        lifespan=lifespan_of(settings, components),
        exception_handlers={HTTPException: http_exception_response},
        middleware=[
            Middleware(
                CorrelationMiddleware, metrics=components.metrics, failures=components.failures
            )
        ],
    )
    app.state.components = components
    app.state.flusher = components.flusher
    app.state.token_pruner = components.token_pruner
    return app


def create_app_from_environment() -> Starlette:
    """Factory for uvicorn workers: settings come from ``TALLYBOARD_*`` variables."""
    from tallyboard.observability.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
