"""Section 11's tables: the audit log, closed months, adjustments and the metering ledger.

They share ``tables.metadata`` (``tables`` imports this module at its end, so every
user of the metadata -- migrations, the schema check -- sees them); they live apart
only to keep each module small.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from tallyboard.storage.tables import metadata

__all__ = ["audit_log", "closed_months"]

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
