"""Section 11's tables: the audit log, closed months, adjustments and the metering ledger.

They share ``tables.metadata`` (``tables`` imports this module at its end, so every
user of the metadata -- migrations, the schema check -- sees them); they live apart
only to keep each module small.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from tallyboard.storage.tables import metadata

__all__ = ["adjustments", "audit_log", "closed_months", "metering_ledger"]


def _key_text(length: int) -> TypeEngine[str]:
    """Text compared byte-wise on both engines (as ``tables._key_text``)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


audit_log = Table(
    "audit_log",
    metadata,
    # Append-only: a row is inserted in the transaction of the action it records and is
    # never updated or deleted. ``pk`` orders the log (newest first: ``pk`` descending).
    Column("pk", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at_ms", BigInteger, nullable=False, index=True),
    Column("actor_kind", String(32), nullable=False),
    Column("actor_name", Text, nullable=False),
    Column("action", String(64), nullable=False),
    Column("organization", String(36), nullable=True),
    Column("details", Text, nullable=False),
    Index(None, "action", "pk"),
)

closed_months = Table(
    "closed_months",
    metadata,
    # Instance-wide: a month listed here is closed (reopening deletes its row).
    Column("month", String(7), primary_key=True),
    Column("closed_at_ms", BigInteger, nullable=False),
)

adjustments = Table(
    "adjustments",
    metadata,
    # Signed usage with no raw event (section 11), exactly once per (organization, id):
    # part of the ledger like raw events, and pruned with them past the horizon.
    Column("org_pk", Integer, ForeignKey("organizations.pk", ondelete="CASCADE"), primary_key=True),
    Column("adjustment_id", _key_text(128), primary_key=True),
    Column("type", SmallInteger, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    # As for events: the hash tells a replay from a reused id (CONFLICT).
    Column("payload_hash", LargeBinary(16), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("reason", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Index(None, "time_ms"),
)

metering_ledger = Table(
    "metering_ledger",
    metadata,
    # What every applied self-metering flush added, kept beside the raw events for the
    # retention horizon (and pruned with them) so every figure can be recomputed: one
    # row per (flush, organization, day), its calls as compact JSON
    # ``[[operation name, token label, calls], ...]`` (names as metered, before the cap).
    Column("flush_id", String(36), primary_key=True),
    Column("org_pk", Integer, ForeignKey("organizations.pk", ondelete="CASCADE"), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("calls", LargeBinary, nullable=False),
    Index(None, "org_pk", "day"),
    Index(None, "day"),
)
