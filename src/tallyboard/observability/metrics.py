"""Prometheus metrics, one registry per application instance.

A registry per app (rather than the process-global default) lets tests build several
apps in one process and read each one's counters to observe behaviour, e.g. that a
cached statistic did not touch the database.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    """Every metric of one application instance, created family by family."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._add_http(self.registry)
        self._add_metering(self.registry)
        self._add_ingest(self.registry)
        self._add_statistics(self.registry)
        self._add_server(self.registry)
        self._add_webhooks(self.registry)

    def _add_http(self, r: CollectorRegistry) -> None:
        """Requests at the HTTP and GraphQL edges."""
        self.http_requests = Counter(
            "tallyboard_http_requests", "HTTP requests handled", ["route", "status"], registry=r
        )
        self.graphql_documents = Counter(
            "tallyboard_graphql_documents",
            "GraphQL documents looked up in the parse/validate cache",
            ["outcome"],  # hit | miss
            registry=r,
        )
        self.graphql_rejected = Counter(
            "tallyboard_graphql_rejected",
            "GraphQL requests refused before execution",
            ["code"],
            registry=r,
        )
        self.graphql_inline_fallbacks = Counter(
            "tallyboard_graphql_inline_fallbacks",
            "Requests run on the event loop whose read met a lock, rerun on a worker thread",
            registry=r,
        )

    def _add_metering(self, r: CollectorRegistry) -> None:
        """Self-metering: the accumulator and its flusher."""
        self.metering_recorded = Counter(
            "tallyboard_metering_recorded_calls",
            "Billable calls recorded in the in-process accumulator",
            registry=r,
        )
        self.metering_dropped = Counter(
            "tallyboard_metering_dropped_calls",
            "Billable calls dropped because the accumulator was full (database unreachable)",
            registry=r,
        )
        self.metering_refused = Counter(
            "tallyboard_metering_refused_calls",
            "Billable calls of flush keys the database refused for their content, set aside",
            registry=r,
        )
        self.metering_flushes = Counter(
            "tallyboard_metering_flushes",
            "Metering flush attempts",
            ["outcome"],  # applied | empty | already_applied | failed
            registry=r,
        )
        self.metering_flush_seconds = Histogram(
            "tallyboard_metering_flush_seconds", "Duration of metering flushes", registry=r
        )
        self.metering_buffer_keys = Gauge(
            "tallyboard_metering_buffer_keys",
            "Distinct keys waiting in the accumulator (including a failed flush)",
            registry=r,
        )

    def _add_ingest(self, r: CollectorRegistry) -> None:
        """Event ingestion and retention."""
        self.ingest_events = Counter(
            "tallyboard_ingest_events",
            "Ingested events by outcome",
            ["outcome"],  # accepted | duplicate | rejected
            registry=r,
        )
        self.ingest_batches = Counter(
            "tallyboard_ingest_batches",
            "Ingest requests by outcome",
            ["outcome"],  # committed | overloaded | invalid
            registry=r,
        )
        self.ingest_batch_seconds = Histogram(
            "tallyboard_ingest_batch_seconds", "Time to validate and commit a batch", registry=r
        )

    def _add_statistics(self, r: CollectorRegistry) -> None:
        """Statistics queries and their cache; raw events removed by retention."""
        self.stats_queries = Counter(
            "tallyboard_stats_queries",
            "Statistics computed from the database",
            ["query"],
            registry=r,
        )
        self.cache_requests = Counter(
            "tallyboard_cache_requests",
            "Statistics cache lookups",
            ["backend", "outcome"],  # hit | miss | error
            registry=r,
        )
        self.retention_deleted = Counter(
            "tallyboard_retention_deleted_events",
            "Raw events removed by retention",
            registry=r,
        )

    def _add_server(self, r: CollectorRegistry) -> None:
        """Failures and refusals of the server process itself."""
        self.failures = Counter(
            "tallyboard_failures",
            "Requests that failed on the server's side (database outage, bug), by kind",
            ["kind"],  # database:<error> | bug:<exception type>
            registry=r,
        )
        self.header_timeouts = Counter(
            "tallyboard_header_timeouts",
            "Connections closed because a request's headers did not arrive in time",
            registry=r,
        )
        self.connections_refused = Counter(
            "tallyboard_connections_refused",
            "Requests answered 503 because the process was at its connection limit",
            registry=r,
        )

    def _add_webhooks(self, r: CollectorRegistry) -> None:
        """Webhook delivery attempts of allowance alerts (spec §10)."""
        self.webhook_deliveries = Counter(
            "tallyboard_webhook_deliveries",
            "Webhook delivery attempts, by outcome",
            ["outcome"],  # delivered | retry | failed
            registry=r,
        )
        self.webhook_deliveries_pending = Gauge(
            "tallyboard_webhook_deliveries_pending",
            "Webhook deliveries not yet delivered or failed",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
