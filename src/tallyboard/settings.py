"""Typed settings, read once from ``TALLYBOARD_*`` environment variables or CLI options.

The composition root (``tallyboard.app.create_app``) and the CLI are the only readers;
every other module receives the values it needs as arguments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]

MiB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TALLYBOARD_", frozen=True, extra="forbid")

    # ---- where things are
    database_url: str = Field(
        "sqlite:///tallyboard.db",
        description="SQLAlchemy URL: sqlite:///PATH (embedded) or postgresql://USER@HOST/DB",
    )
    redis_url: str | None = Field(
        None, description="redis://HOST:PORT/DB to share the statistics cache between processes"
    )
    host: str = Field("127.0.0.1", description="Address `serve` listens on")
    port: int = Field(8000, ge=0, le=65535, description="Port `serve` listens on")
    workers: int = Field(1, ge=1, le=64, description="Server processes started by `serve`")
    public_url: str | None = Field(
        None, description="Base URL printed in links (default: http://HOST:PORT)"
    )

    # ---- connections and request time limits (docs/operations.md)
    header_timeout: float = Field(
        10.0,
        gt=0,
        le=300,
        description=(
            "Seconds a connection may take to send a request's headers (a silent or "
            "trickling connection is closed)"
        ),
    )
    body_timeout: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="Seconds a request body may take to arrive (then 408, connection closed)",
    )
    keep_alive_timeout: int = Field(
        5, ge=1, le=300, description="Seconds an idle keep-alive connection stays open"
    )
    limit_concurrency: int = Field(
        1000,
        ge=1,
        description=(
            "Open connections (or requests in progress) per process beyond which a request "
            "gets 503 Retry-After at once"
        ),
    )
    backlog: int = Field(
        2048, ge=1, description="Connections the kernel queues before the server accepts them"
    )

    # ---- database time limits (docs/operations.md)
    db_connect_timeout: float = Field(
        5.0,
        ge=1,
        le=300,
        description=(
            "Seconds to open a database connection or wait for a pooled one "
            "(then 503 SERVICE_UNAVAILABLE)"
        ),
    )
    db_statement_timeout: float = Field(
        30.0,
        gt=0,
        le=86400,
        description="Seconds one PostgreSQL statement may run before it is cancelled",
    )
    db_lock_timeout: float = Field(
        10.0,
        gt=0,
        le=3600,
        description=(
            "Seconds a write waits for a lock (PostgreSQL lock_timeout, SQLite busy timeout)"
        ),
    )

    # ---- logging
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Minimum level of log records"
    )
    log_format: Literal["json", "text"] = Field(
        "json", description="json: one object per line; text: for humans"
    )
    failure_log_interval: float = Field(
        60.0,
        gt=0,
        description=(
            "Seconds between log lines about one kind of server-side failure (the first "
            "has a traceback, later ones a count)"
        ),
    )

    # ---- self-metering
    metering: bool = Field(
        True,
        description=(
            "Count billable GraphQL calls (self-metering); false only to measure its cost"
        ),
    )
    flush_interval: float = Field(
        1.0, gt=0, le=60, description="Seconds between metering flushes (the freshness bound)"
    )
    metering_max_keys: int = Field(
        100_000, ge=100, description="Distinct keys held in memory before new keys are dropped"
    )
    operation_name_cap: int = Field(
        1000, ge=1, description="Distinct operation names per organization per month"
    )

    # ---- GraphQL limits
    max_depth: int = Field(15, ge=1, description="Deepest selection allowed in a document")
    max_aliases: int = Field(15, ge=0, description="Aliases allowed in a document")
    max_tokens: int = Field(2000, ge=10, description="Lexical tokens allowed in a document")
    max_fields: int = Field(
        2000,
        ge=1,
        description=(
            "Field selections allowed in a document once every fragment spread is expanded"
        ),
    )
    max_query_length: int = Field(
        100_000,
        ge=100,
        description="Characters allowed in a document's text, comments and white space included",
    )
    max_org_uuids: int = Field(
        25, ge=1, description="Organization UUIDs per document, summed over every field"
    )
    max_body_bytes: int = Field(1 * MiB, ge=1024, description="Largest GraphQL request body")
    document_cache_size: int = Field(
        1024, ge=0, description="Parsed and validated documents kept per process"
    )
    document_cache_bytes: int = Field(
        64 * MiB,
        ge=0,
        description=(
            "Estimated memory the parsed documents kept per process may take "
            "(text, syntax tree and compiled plan; least recently used out first)"
        ),
    )
    inline_execution: bool = Field(
        True,
        description=(
            "SQLite only: run GraphQL documents known to be cheap on the event loop, with "
            "reads that never wait for a lock (decision 0014); false: always on worker "
            "threads (PostgreSQL always uses threads)"
        ),
    )
    rate_limit: float = Field(
        0.0,
        ge=0,
        description=(
            "GraphQL requests per second per service account or user, whichever of its "
            "tokens it uses (0 disables rate limiting)"
        ),
    )
    rate_limit_burst: int = Field(
        100, ge=1, description="GraphQL requests a service account or user may burst"
    )

    # ---- OAuth token endpoint and access tokens
    oauth_max_live_tokens: int = Field(
        100,
        ge=1,
        description="Live access tokens per service account; minting one more revokes the oldest",
    )
    oauth_failure_burst: int = Field(
        20,
        ge=1,
        description=(
            "Failed /oauth/token requests allowed at once per client address "
            "(per client id: 5x); then 429 with Retry-After"
        ),
    )
    oauth_failure_rate: float = Field(
        0.5,
        ge=0,
        description=(
            "Failed /oauth/token requests regained per second per client address "
            "(per client id: 5x); 0 disables the throttle"
        ),
    )
    token_prune_interval: float = Field(
        600.0, gt=0, description="Seconds between sweeps deleting expired and revoked access tokens"
    )

    # ---- ingestion
    ingest_max_events: int = Field(10_000, ge=1, description="Events per ingest request")
    ingest_max_body_bytes: int = Field(5 * MiB, ge=1024, description="Largest ingest body")
    ingest_concurrency: int = Field(
        2, ge=1, description="Ingest batches written at the same time per process"
    )
    ingest_queue: int = Field(
        16, ge=0, description="Ingest batches allowed to wait; beyond that, 429 Retry-After"
    )
    live_window_days: int = Field(35, ge=1, description="How old a live event may be")
    future_skew_seconds: int = Field(300, ge=0, description="How far ahead an event may be")
    retention_days: int = Field(
        400, ge=1, description="Raw events (and duplicate detection) are kept this long"
    )
    retention_interval: float = Field(3600.0, gt=0, description="Seconds between retention sweeps")

    # ---- statistics cache
    answer_reuse: bool = Field(
        True,
        description=(
            "Reuse an unchanged organization's last answer (exact, version-checked); "
            "false only to measure the cold path"
        ),
    )
    cache_ttl: float = Field(60.0, gt=0, description="Seconds a combined per-org result lives")
    cache_jitter: float = Field(
        0.1, ge=0, le=0.5, description="Fraction of the TTL randomly shaved off each entry"
    )
    cache_prefix: str = Field(
        "tallyboard",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="First part of every cache key (lets installations share one Redis)",
    )

    # ---- allowance alerts and webhooks (spec §10)
    webhook_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a webhook receiver has to answer 2xx"
    )
    webhook_retry_delays: str = Field(
        "5,30,120,600,3600,10800,21600,43200",
        description="Seconds between a failed webhook delivery's attempts (comma-separated)",
    )
    webhook_allow_private: bool = Field(
        False,
        description="Allow webhook URLs on loopback, private or link-local addresses",
    )

    # ---- exports (spec §9)
    export_ttl: int = Field(
        86400, ge=60, le=90 * 86400, description="Seconds a finished export's file is kept"
    )
    export_dir: str | None = Field(
        None,
        description="Directory for export files (one host only; default: in the database)",
    )

    @field_validator("webhook_retry_delays")
    @classmethod
    def _delays(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        if not all(p.isdigit() for p in parts) or len(parts) > 50:
            raise ValueError("must be whole seconds separated by commas, e.g. 5,30,120")
        return ",".join(parts)

    @property
    def retry_delays(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.webhook_retry_delays.split(",") if p)

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str | None) -> str | None:
        if value == "":
            return None
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis:// URL")
        return value

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host  # noqa: S104
        return f"http://{host}:{self.port}"
