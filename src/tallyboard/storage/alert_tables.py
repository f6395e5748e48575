"""The tables of allowance alerts and webhooks (spec §10), on the schema's ``metadata``.

Rules, the alert outbox and its deliveries (``storage/alert_store.py``). An alert row is
inserted in the transaction whose write made it true, guarded by its uniqueness key
(organization, resource, month, level: the threshold, 0 for the forecast), so no number
of processes can record it twice; its deliveries are inserted with it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from tallyboard.storage.tables import _key_text, _org_fk, metadata

__all__ = ["alert_rules", "usage_alerts", "webhook_attempts", "webhook_deliveries", "webhooks"]

webhooks = Table(
    "webhooks",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", _key_text(120), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    # JSON lists; null = all organizations / all events.
    Column("organizations", Text, nullable=True),
    Column("events", Text, nullable=True),
    Column("secret", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

alert_rules = Table(
    "alert_rules",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    # null = the instance default (one row at most, written under the apply lock).
    Column("org_pk", Integer, _org_fk(), nullable=True, unique=True),
    Column("thresholds", Text, nullable=True),  # JSON list of percents; null = inherit
    Column("forecast", Boolean, nullable=True),  # null = inherit
)

usage_alerts = Table(
    "usage_alerts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("org_pk", Integer, _org_fk(), nullable=False),
    Column("resource", String(24), nullable=False),
    Column("month", String(7), nullable=False),
    Column("level", Integer, nullable=False),
    Column("threshold", Integer, nullable=True),
    # Credits as micro-credits; times as epoch milliseconds.
    Column("usage", BigInteger, nullable=False),
    Column("allowance", BigInteger, nullable=False),
    Column("projected_usage", BigInteger, nullable=True),
    Column("projected_exhaustion_at", BigInteger, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("crossed_at", BigInteger, nullable=False),
    # The webhook body, built once when recorded: the same bytes on every attempt.
    Column("body", Text, nullable=False),
    UniqueConstraint("org_pk", "resource", "month", "level"),
    Index(None, "org_pk", "month"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("alert_pk", Integer, ForeignKey("usage_alerts.pk", ondelete="CASCADE"), nullable=False),
    Column("webhook_pk", Integer, ForeignKey("webhooks.pk", ondelete="CASCADE"), nullable=False),
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("next_attempt_at", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    UniqueConstraint("alert_pk", "webhook_pk"),
    Index(None, "status", "next_attempt_at"),
)

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "delivery_pk",
        Integer,
        ForeignKey("webhook_deliveries.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("attempted_at", BigInteger, nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Integer, nullable=False),
)
