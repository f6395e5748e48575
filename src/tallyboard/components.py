"""The composition root's wiring: ``build_components(settings)`` builds every service, once.

This is the only place that constructs services from the settings. The HTTP application
(``tallyboard.app.create_app``), the command line (``tallyboard.cli``) and the demo
builder (``tallyboard.demo``) all start here, so a command-line ingest or a demo
backfill runs exactly the service the server runs, wired the same way. It sits just
below ``tallyboard.demo`` in the layers (the demo builds its database through it) and
knows nothing of the edges: endpoints receive the components they use from ``create_app``.

Nothing connects here: the database and Redis are first touched when a component is used
(for the server, when the application starts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from tallyboard.access.admin_tokens import AdminTokens
from tallyboard.access.authenticator import Authenticator
from tallyboard.access.oauth import OAuthService
from tallyboard.access.policy import Policy
from tallyboard.access.token_pruner import TokenPruner
from tallyboard.admin.applier import Applier
from tallyboard.admin.audit import AuditLog
from tallyboard.admin.months import MonthService
from tallyboard.alerts.deliveries import AlertServices, WebhookDeliveries
from tallyboard.alerts.dispatcher import Dispatcher
from tallyboard.cache.backend import CacheBackend
from tallyboard.cache.memory import MemoryCache
from tallyboard.cache.per_org import PerOrgCache
from tallyboard.cache.redis import RedisCache
from tallyboard.domain.clock import Clock, SystemClock
from tallyboard.exports.builder import ExportBuilder
from tallyboard.exports.links import ExportLinks
from tallyboard.exports.service import ExportService
from tallyboard.ingest.backpressure import Backpressure
from tallyboard.ingest.corrections import CorrectionService
from tallyboard.ingest.retention import RetentionSweeper
from tallyboard.ingest.service import IngestService
from tallyboard.ingest.verification import Verifier
from tallyboard.metering.accumulator import Accumulator
from tallyboard.metering.flusher import Flusher
from tallyboard.observability.failures import FailureLog
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.stats.queries import StatisticsQueries, build_statistics_queries
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.database import Database, DatabaseTimeouts
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.export_store import ExportStore
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["Components", "build_cache_backend", "build_components", "database_timeouts"]


@dataclass(frozen=True, slots=True)
class Components:
    """Every service of one process, wired once by :func:`build_components`.

    The edges never receive this whole: ``create_app`` hands each endpoint the services
    it uses, the CLI and the demo take what their command needs.
    """

    database: Database
    clock: Clock
    metrics: Metrics
    failures: FailureLog
    policy: Policy
    authenticator: Authenticator
    oauth: OAuthService
    admin_tokens: AdminTokens
    applier: Applier
    alerts: AlertServices
    audit_log: AuditLog
    corrections: CorrectionService
    months: MonthService
    verifier: Verifier
    accumulator: Accumulator
    flusher: Flusher
    ingest: IngestService
    ingest_backpressure: Backpressure
    retention: RetentionSweeper
    token_pruner: TokenPruner
    max_org_uuids: int
    stats_cache: PerOrgCache
    queries: StatisticsQueries
    exports: ExportService
    export_builder: ExportBuilder
    export_links: ExportLinks

    def close(self) -> None:
        """Release the connections (the cache's, then the database's pools). The server's
        lifespan does the same from a worker thread, after the flusher stopped."""
        self.stats_cache.backend.close()
        self.database.dispose()


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


def build_alerts(
    settings: Settings, database: Database, clock: Clock, metrics: Metrics, detector: AlertDetector
) -> AlertServices:
    """The webhook dispatcher (started by the server's lifespan) and the deliveries."""
    dispatcher = Dispatcher(
        database,
        clock,
        metrics,
        detector,
        timeout=settings.webhook_timeout,
        delays=settings.retry_delays,
        allow_private=settings.webhook_allow_private,
    )
    return AlertServices(dispatcher, WebhookDeliveries(database, clock))


def build_applier(
    settings: Settings, database: Database, clock: Clock, detector: AlertDetector
) -> Applier:
    return Applier(
        database, clock, allow_private_webhooks=settings.webhook_allow_private, detector=detector
    )


class _Section11(NamedTuple):
    """Corrections, closed months and the audit log (section 11)."""

    audit_log: AuditLog
    corrections: CorrectionService
    months: MonthService
    verifier: Verifier


def _section_11(
    database: Database, events: EventStore, writer: RollupWriter, clock: Clock, settings: Settings
) -> _Section11:
    return _Section11(
        audit_log=AuditLog(database),
        corrections=CorrectionService(database, events, writer, clock, settings),
        months=MonthService(database, clock),
        verifier=Verifier(database, events, clock, settings),
    )


def _exports(
    settings: Settings, database: Database, policy: Policy, clock: Clock
) -> dict[str, Any]:
    """The export service (the API's side) and the builder (every process's task)."""
    builder = ExportBuilder(
        database, policy, clock, ttl=settings.export_ttl, export_dir=settings.export_dir
    )
    links = ExportLinks(database, clock, settings.base_url)
    return {
        "exports": ExportService(
            ExportStore(database), policy, clock, link=lambda stored: links.link(stored.id)
        ),
        "export_builder": builder,
        "export_links": links,
    }


def build_stats_cache(settings: Settings, clock: Clock, metrics: Metrics) -> PerOrgCache:
    """The per-organization statistics cache (decision 0007) on its configured backend."""
    return PerOrgCache(
        build_cache_backend(settings, clock),
        metrics,
        ttl=settings.cache_ttl,
        jitter=settings.cache_jitter,
        prefix=settings.cache_prefix,
    )


def build_components(settings: Settings, *, clock: Clock | None = None) -> Components:
    """Every service for ``settings`` (``clock``: tests and the demo only). One rollup
    writer (admitted names, alert detector) serves ingestion and the metering flusher."""
    clock = clock or SystemClock()
    database = Database(settings.database_url, timeouts=database_timeouts(settings))
    detector = AlertDetector(clock)
    writer = RollupWriter(database.dialect, settings.operation_name_cap, detector)
    metrics = Metrics()
    stats_cache = build_stats_cache(settings, clock, metrics)
    events = EventStore(database)
    policy = Policy(database)
    queries = build_statistics_queries(
        database,
        clock,
        metrics,
        policy,
        stats_cache,
        max_org_uuids=settings.max_org_uuids,
        reuse_answers=settings.answer_reuse,
    )
    accumulator = Accumulator(settings.metering_max_keys, metrics)
    return Components(
        database=database,
        clock=clock,
        metrics=metrics,
        failures=FailureLog(metrics, settings.failure_log_interval),
        policy=policy,
        authenticator=Authenticator(database, clock),
        oauth=OAuthService(database, clock, settings.oauth_max_live_tokens),
        admin_tokens=AdminTokens(database, clock),
        applier=build_applier(settings, database, clock, detector),
        alerts=build_alerts(settings, database, clock, metrics, detector),
        **_section_11(database, events, writer, clock, settings)._asdict(),
        accumulator=accumulator,
        flusher=Flusher(
            accumulator,
            FlushStore(database, writer),
            metrics,
            clock,
            interval=settings.flush_interval,
        ),
        ingest=IngestService(database, events, writer, clock, metrics, settings),
        ingest_backpressure=Backpressure(
            settings.ingest_concurrency,
            settings.ingest_queue,
            metrics,
            buffer_bytes=(settings.ingest_concurrency + settings.ingest_queue)
            * settings.ingest_max_body_bytes,
        ),
        retention=RetentionSweeper(events, clock, settings.retention_days, metrics),
        token_pruner=TokenPruner(database, clock),
        max_org_uuids=settings.max_org_uuids,
        stats_cache=stats_cache,
        queries=queries,
        **_exports(settings, database, policy, clock),
    )
