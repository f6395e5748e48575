"""Prometheus metrics, one registry per application instance.

A registry per app (rather than the process-global default) lets tests build several
apps in one process and read each one's counters to observe behaviour, e.g. that a
cached statistic did not touch the database.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
