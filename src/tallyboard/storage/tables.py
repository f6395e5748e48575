"""The relational schema (SQLAlchemy Core), the single source for migrations.

Layout notes:
- Organizations have an internal integer ``pk``; every tenant-owned row carries
  ``org_pk`` as the first column of its key, so every lookup is scoped by tenant.
- Rollups are per organization, per day *and* per month, per dimension: every
  reporting period is whole months, so totals and top lists read at most
  (months x distinct values) rows and daily series read at most (days) rows, whatever
  the call volume (decision 0003).
- Text columns that take part in ordering use byte order ("C" collation on
  PostgreSQL, SQLite's default BINARY) so ties break identically on both engines.
- Days are stored as ``YYYY-MM-DD`` and months as ``YYYY-MM`` text: the exact form the
  API prints, and order-preserving.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import TypeEngine

from tallyboard.domain.rollup import FIGURE_CEILING, FIGURES
from tallyboard.storage.catalog_columns import APPLIED, entry_columns

__all__ = ["metadata"]

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
    }
)


def _key_text(length: int | None = None) -> TypeEngine[str]:
    """Text compared byte-wise on both engines (see module docstring)."""
    base = String(length) if length else Text()
    variant = String(length, collation="C") if length else Text(collation="C")
    return base.with_variant(variant, "postgresql")


def _org_fk() -> ForeignKey:
    return ForeignKey("organizations.pk", ondelete="CASCADE")


# ---------------------------------------------------------------- tenancy

organizations = Table(
    "organizations",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("id", _key_text(64), nullable=False, unique=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

organization_settings = Table(
    "organization_settings",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("effective_from", String(7), primary_key=True),
    # JSON object of only the fields this entry sets (null = explicitly unset).
    Column("changes", Text, nullable=False),
)

users = Table(
    "users",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("email", _key_text(320), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

custom_roles = Table(
    "custom_roles",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("name", _key_text(120), primary_key=True),
    # JSON array of permission names.
    Column("permissions", Text, nullable=False),
)

memberships = Table(
    "memberships",
    metadata,
    Column("user_pk", Integer, ForeignKey("users.pk", ondelete="CASCADE"), primary_key=True),
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    # A built-in role name or the name of one of the organization's custom roles.
    Column("role", Text, nullable=False),
    Index(None, "org_pk"),
)

service_accounts = Table(
    "service_accounts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("org_pk", Integer, _org_fk(), nullable=False),
    Column("name", _key_text(20), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("role", Text, nullable=False),
    Column("token_lifetime_seconds", Integer, nullable=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("client_secret_hash", String(64), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    # Revoking an account invalidates its client secret and every token it minted.
    Column("revoked_at", BigInteger, nullable=True),
    UniqueConstraint("org_pk", "name"),
)

# ---------------------------------------------------------------- credentials
# Only SHA-256 hashes of secrets are stored. "Active" = revoked_at IS NULL.

access_tokens = Table(
    "access_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column(
        "service_account_pk",
        Integer,
        ForeignKey("service_accounts.pk", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

personal_tokens = Table(
    "personal_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("user_pk", Integer, ForeignKey("users.pk", ondelete="CASCADE"), nullable=False),
    Column("name", _key_text(120), nullable=False),
    Column("billing_org_pk", Integer, _org_fk(), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index(
        "uq_personal_tokens_active_name",
        "user_pk",
        "name",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
)

ingest_keys = Table(
    "ingest_keys",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", _key_text(120), nullable=False),
    # NULL: instance-wide key; otherwise the only organization it may send for.
    Column("org_pk", Integer, _org_fk(), nullable=True),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    Index(
        "uq_ingest_keys_active_name",
        "name",
        unique=True,
        sqlite_where=text("revoked_at IS NULL"),
        postgresql_where=text("revoked_at IS NULL"),
    ),
)

admin_tokens = Table(
    "admin_tokens",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("label", Text, nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
)

instance_secrets = Table(
    "instance_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# ---------------------------------------------------------------- catalog
# ``name_at`` (``project_at``, ``icon_at``, ``color_at``): epoch ms of the fact that set
# that attribute, so an older event never overwrites a newer value, and an event that
# does not state an attribute leaves it alone (admin apply uses the time it applied).

agents = Table(
    "agents",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("agent_id", _key_text(128), primary_key=True),
    Column("name", Text, nullable=True),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    Column("name_at", BigInteger, nullable=False, server_default="0"),
    *entry_columns(lambda n: _key_text(n)),
)

projects = Table(
    "projects",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("project_id", _key_text(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("icon", Text, nullable=True),
    Column("color", Text, nullable=True),
    Column("name_at", BigInteger, nullable=False, server_default="0"),
    Column("icon_at", BigInteger, nullable=False, server_default="0"),
    Column("color_at", BigInteger, nullable=False, server_default="0"),
    Column(APPLIED, Text, nullable=True),
)

flows = Table(
    "flows",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("flow_id", _key_text(128), primary_key=True),
    Column("name", Text, nullable=False),
    Column("project_id", _key_text(128), nullable=True),
    # ENABLED / DISABLED; flows first seen in events are ENABLED.
    Column("status", String(16), nullable=False, server_default="ENABLED"),
    Column("name_at", BigInteger, nullable=False, server_default="0"),
    Column("project_at", BigInteger, nullable=False, server_default="0"),
    Column(APPLIED, Text, nullable=True),
)

# ---------------------------------------------------------------- raw events

events = Table(
    "events",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("source", _key_text(128), primary_key=True),
    Column("event_id", _key_text(128), primary_key=True),
    Column("type", SmallInteger, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    # First 16 bytes of SHA-256 over the normalized event: tells a replay (same
    # hash, a duplicate) from a reused id (different hash, a CONFLICT).
    Column("payload_hash", LargeBinary(16), nullable=False),
    # The normalized event as JSON, kept for audit and for rebuilding rollups.
    Column("payload", LargeBinary, nullable=False),
    Column("received_at_ms", BigInteger, nullable=False),
    # Set when a correction voided the event (section 11): it counts nowhere since.
    Column("voided_at_ms", BigInteger, nullable=True),
    Index(None, "time_ms"),
    # One organization's events in a time range: verify, exports, voids (0012).
    Index(None, "org_pk", "time_ms"),
)

metering_flushes = Table(
    "metering_flushes",
    metadata,
    # One row per applied self-metering flush: a retried flush whose commit outcome
    # was unknown finds its id here and is not applied twice.
    Column("flush_id", String(36), primary_key=True),
    Column("applied_at_ms", BigInteger, nullable=False, index=True),
)

# ---------------------------------------------------------------- rollups


def _api_calls(name: str, bucket: str, width: int) -> Table:
    return Table(
        name,
        metadata,
        Column("org_pk", Integer, _org_fk(), primary_key=True),
        Column(bucket, String(width), primary_key=True),
        # tallyboard.domain.usage.ApiDimension: 0 total, 1 operation name, 2 token.
        Column("dimension", SmallInteger, primary_key=True),
        Column("value", _key_text(), primary_key=True),
        Column("calls", BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )


api_calls_daily = _api_calls("api_calls_daily", "day", 10)
api_calls_monthly = _api_calls("api_calls_monthly", "month", 7)
# The daily series reads only TOTAL rows; by the key alone it would walk every
# operation-name and token row of each day in range. Covering (``calls`` included), or
# SQLite prefers the key, which is the table itself (decision 0010).
Index(
    None,
    api_calls_daily.c.org_pk,
    api_calls_daily.c.dimension,
    api_calls_daily.c.day,
    api_calls_daily.c.calls,
)


def _flow_usage(name: str, bucket: str, width: int) -> Table:
    return Table(
        name,
        metadata,
        Column("org_pk", Integer, _org_fk(), primary_key=True),
        Column(bucket, String(width), primary_key=True),
        Column("flow_id", _key_text(128), primary_key=True),
        Column("tasks", BigInteger, nullable=False),
        Column("runs", BigInteger, nullable=False),
        Column("last_run_at", BigInteger, nullable=False),
        sqlite_with_rowid=False,
    )


flow_usage_daily = _flow_usage("flow_usage_daily", "day", 10)
flow_usage_monthly = _flow_usage("flow_usage_monthly", "month", 7)

usage_versions = Table(
    "usage_versions",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    # tallyboard.storage.usage_versions.Stream: 1 API calls, 2 integrations,
    # 3 AI credits, 4 automation jobs.
    Column("stream", SmallInteger, primary_key=True),
    # Raised by every transaction that changes the organization's rollups of that
    # stream: an answer read under the same version is still exact (decision 0010).
    Column("version", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

task_usage_daily = Table(
    "task_usage_daily",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("tasks", BigInteger, nullable=False),
    Column("runs", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)


def _ai_credits(name: str, bucket: str, width: int) -> Table:
    return Table(
        name,
        metadata,
        Column("org_pk", Integer, _org_fk(), primary_key=True),
        Column(bucket, String(width), primary_key=True),
        # tallyboard.domain.usage.AiResource: 1 AI automation, 2 assistant.
        Column("resource", SmallInteger, primary_key=True),
        # The agent for AI automation; "" for assistants (never listed individually).
        Column("agent_id", _key_text(128), primary_key=True),
        Column("credits", BigInteger, nullable=False),  # micro-credits
        sqlite_with_rowid=False,
    )


ai_credits_daily = _ai_credits("ai_credits_daily", "day", 10)
ai_credits_monthly = _ai_credits("ai_credits_monthly", "month", 7)

usage_totals_monthly = Table(
    "usage_totals_monthly",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("month", String(7), primary_key=True),
    # The organization's whole month: calls, tasks, runs, micro-credits. Every writer
    # adds to it first, in the transaction that writes the other rollups, so the
    # database itself keeps every figure within the ceiling (decision 0012), whatever
    # processes race: a write past it fails its CHECK and is rejected as a whole.
    *(Column(figure, BigInteger, nullable=False) for figure in FIGURES),
    *(
        CheckConstraint(f"{figure} BETWEEN 0 AND {FIGURE_CEILING}", name=f"{figure}_ceiling")
        for figure in FIGURES
    ),
    sqlite_with_rowid=False,
)

# Pipes, automations and their jobs (spec §9) are declared beside, on this metadata.
# The alert tables (spec §10) live in their own module, registered on this metadata.
from tallyboard.storage import alert_tables  # noqa: E402, F401

# Section 11's tables, registered on ``metadata`` (kept apart for the module's size).
from tallyboard.storage import correction_tables as _correction_tables  # noqa: E402, F401
from tallyboard.storage import export_tables as _export_tables  # noqa: E402, F401
from tallyboard.storage import tables_automation as _automation  # noqa: E402, F401
