"""The composition root: ``create_app(settings)`` wires every component, once.

Nothing connects at import time; the database is first touched when the application
starts (lifespan), which also refuses to start on an unmigrated database.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from graphql import GraphQLSchema
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from tallyboard.access.authenticator import Authenticator
from tallyboard.access.oauth import OAuthService
from tallyboard.access.oauth_throttle import OAuthThrottle
from tallyboard.access.policy import Policy
from tallyboard.access.rate_limit import RateLimiter
from tallyboard.access.token_pruner import TokenPruner
from tallyboard.admin.applier import Applier
from tallyboard.api.context import Services
from tallyboard.api.graphql.document_cache import DocumentCache, DocumentLimits
from tallyboard.api.graphql.endpoint import GraphQLEndpoint
from tallyboard.api.graphql.schema import build_schema
from tallyboard.api.http.admin import ApplyEndpoint
from tallyboard.api.http.errors import http_exception_response
from tallyboard.api.http.events import EventsEndpoint
from tallyboard.api.http.middleware import CorrelationMiddleware
from tallyboard.api.http.oauth import TokenEndpoint
from tallyboard.api.http.ops import OpsEndpoints
from tallyboard.api.http.server import METRICS_STATE_KEY
from tallyboard.cache.backend import CacheBackend
from tallyboard.cache.bounded import BoundedCache
from tallyboard.cache.memory import MemoryCache
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.cache.redis import RedisCache
from tallyboard.domain.clock import Clock, SystemClock
from tallyboard.ingest.backpressure import Backpressure
from tallyboard.ingest.retention import RetentionSweeper
from tallyboard.ingest.service import IngestService
from tallyboard.metering.accumulator import Accumulator
from tallyboard.metering.flusher import Flusher
from tallyboard.observability.failures import FailureLog
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.stats.ai_credits import AiCreditStats
from tallyboard.stats.allowances import Allowances
from tallyboard.stats.api_usage import ApiUsageService
from tallyboard.stats.cursor import CursorCodec
from tallyboard.stats.integrations import IntegrationStats
from tallyboard.stats.queries import StatisticsQueries
from tallyboard.storage.database import Database, DatabaseTimeouts
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.migrate import check_migrated
from tallyboard.storage.rollup_writer import RollupWriter
from tallyboard.web.routes import routes as web_routes

__all__ = [
    "build_document_cache",
    "build_graphql_endpoint",
    "build_routes",
    "create_app",
    "create_app_from_environment",
    "database_timeouts",
]

log = logging.getLogger(__name__)


def _timer(clock: Clock) -> Callable[[], float]:
    """What cache expiry is measured with: the monotonic clock in production, or the
    clock a test injected (so tests move time instead of sleeping)."""
    if isinstance(clock, SystemClock):
        return time.monotonic
    return lambda: clock.now().timestamp()


def build_cache_backend(settings: Settings, clock: Clock) -> CacheBackend:
    """Redis when ``redis_url`` is set (shared by every process), else in-process."""
    if settings.redis_url:
        return RedisCache(settings.redis_url)
    return MemoryCache(now=_timer(clock))


def database_timeouts(settings: Settings) -> DatabaseTimeouts:
    return DatabaseTimeouts(
        connect=settings.db_connect_timeout,
        statement=settings.db_statement_timeout,
        lock=settings.db_lock_timeout,
    )


def build_services(
    settings: Settings, clock: Clock, database: Database, writer: RollupWriter
) -> Services:
    """Every service, sharing one rollup writer (and its cache of admitted operation
    names) between ingestion and the metering flusher."""
    metrics = Metrics()
    allowances = Allowances(database)
    stats_cache = PerOrgCache(
        build_cache_backend(settings, clock),
        metrics,
        ttl=settings.cache_ttl,
        jitter=settings.cache_jitter,
        prefix=settings.cache_prefix,
    )
    events = EventStore(database)
    policy = Policy(database)
    queries = StatisticsQueries(
        clock=clock,
        policy=policy,
        max_org_uuids=settings.max_org_uuids,
        stats_cache=stats_cache,
        integrations=IntegrationStats(
            database,
            allowances,
            CursorCodec.from_database(database),
            metrics,
            reuse_answers=settings.answer_reuse,
        ),
        ai_credits=AiCreditStats(database, allowances, stats_cache, clock, metrics),
        api_usage=ApiUsageService(
            database, clock, metrics, stats_cache, reuse_answers=settings.answer_reuse
        ),
    )
    return Services(
        database=database,
        clock=clock,
        metrics=metrics,
        failures=FailureLog(metrics, settings.failure_log_interval),
        policy=policy,
        authenticator=Authenticator(database, clock),
        oauth=OAuthService(database, clock, settings.oauth_max_live_tokens),
        applier=Applier(database, clock),
        accumulator=Accumulator(settings.metering_max_keys, metrics),
        ingest=IngestService(database, events, writer, clock, metrics, settings),
        ingest_backpressure=Backpressure(
            settings.ingest_concurrency,
            settings.ingest_queue,
            metrics,
            buffer_bytes=(settings.ingest_concurrency + settings.ingest_queue)
            * settings.ingest_max_body_bytes,
        ),
        retention=RetentionSweeper(events, clock, settings.retention_days, metrics),
        max_org_uuids=settings.max_org_uuids,
        stats_cache=stats_cache,
        integrations=queries.integrations,
        ai_credits=queries.ai_credits,
        api_usage=queries.api_usage,
        queries=queries,
    )


def build_flusher(settings: Settings, services: Services, writer: RollupWriter) -> Flusher:
    """Self-metering: drains the accumulator into the rollups every ``flush_interval``."""
    return Flusher(
        services.accumulator,
        FlushStore(services.database, writer),
        services.metrics,
        services.clock,
        interval=settings.flush_interval,
    )


def build_token_endpoint(settings: Settings, services: Services) -> TokenEndpoint:
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


def build_graphql_endpoint(settings: Settings, services: Services) -> GraphQLEndpoint:
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
    )


def build_routes(settings: Settings, services: Services) -> list[BaseRoute]:
    """Every endpoint, each given only the services it uses."""
    graphql = build_graphql_endpoint(settings, services)
    ops = OpsEndpoints(services.metrics, functools.partial(check_migrated, services.database))
    events = EventsEndpoint(
        services.authenticator,
        services.ingest,
        services.ingest_backpressure,
        services.metrics,
        settings.ingest_max_body_bytes,
    )
    apply = ApplyEndpoint(services.authenticator, services.applier)
    return [
        Route("/graphql", graphql.handle, methods=["POST"]),  # GraphiQL on GET: web_routes
        Route("/oauth/token", build_token_endpoint(settings, services).handle, methods=["POST"]),
        Route("/v1/admin/apply", apply.handle, methods=["POST"]),
        Route("/v1/events", events.ingest, methods=["POST"]),
        Route("/v1/admin/backfill", events.backfill, methods=["POST"]),
        Route("/healthz", ops.healthz, methods=["GET"]),
        Route("/readyz", ops.readyz, methods=["GET"]),
        Route("/metrics", ops.metrics, methods=["GET"]),
        *web_routes(),
    ]


def create_app(settings: Settings, *, clock: Clock | None = None) -> Starlette:
    """The ASGI application. ``clock`` is for tests; production always uses the system's."""
    database = Database(settings.database_url, timeouts=database_timeouts(settings))
    writer = RollupWriter(database.dialect, settings.operation_name_cap)
    services = build_services(settings, clock or SystemClock(), database, writer)
    flusher = build_flusher(settings, services, writer)
    pruner = TokenPruner(services.database, services.clock)
    routes = build_routes(settings, services)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        await anyio.to_thread.run_sync(check_migrated, services.database)
        if settings.metering:
            await flusher.start()
        log.info("tallyboard started", extra={"database": services.database.dialect.name})
        retention = asyncio.create_task(services.retention.run(settings.retention_interval))
        pruning = asyncio.create_task(pruner.run(settings.token_prune_interval))
        # Everything built so far (schema, modules, pools) lives as long as the process:
        # keep it out of the collector's full passes, which then stay short (0009).
        gc.collect()
        gc.freeze()
        try:
            # The lifespan state reaches the HTTP protocol too (api/http/server.py).
            yield {METRICS_STATE_KEY: services.metrics}
        finally:
            for housekeeping in (retention, pruning):
                housekeeping.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await housekeeping
            # After uvicorn has answered the in-flight requests: nothing records any more.
            await flusher.stop()
            await anyio.to_thread.run_sync(services.stats_cache.backend.close)
            await anyio.to_thread.run_sync(services.database.dispose)
            log.info("tallyboard stopped")

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: http_exception_response},
        middleware=[
            Middleware(CorrelationMiddleware, metrics=services.metrics, failures=services.failures)
        ],
    )
    app.state.services = services
    app.state.flusher = flusher
    app.state.token_pruner = pruner
    return app


def create_app_from_environment() -> Starlette:
    """Factory for uvicorn workers: settings come from ``TALLYBOARD_*`` variables."""
    from tallyboard.observability.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
