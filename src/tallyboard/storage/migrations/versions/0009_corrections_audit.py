"""Section 11: the audit log, closed months, voided events, adjustments and the
metering ledger.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("actor_kind", sa.String(length=32), nullable=False),
        sa.Column("actor_name", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("organization", sa.String(length=36), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at_ms"), "audit_log", ["at_ms"])
    op.create_index(op.f("ix_audit_log_action_pk"), "audit_log", ["action", "pk"])
    op.create_table(
        "closed_months",
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("closed_at_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("month", name=op.f("pk_closed_months")),
    )

    op.add_column("events", sa.Column("voided_at_ms", sa.BigInteger(), nullable=True))
    key = sa.String(length=128).with_variant(sa.String(length=128, collation="C"), "postgresql")
    op.create_table(
        "adjustments",
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("adjustment_id", key, nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("payload_hash", sa.LargeBinary(length=16), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_pk"],
            ["organizations.pk"],
            name=op.f("fk_adjustments_org_pk_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_pk", "adjustment_id", name=op.f("pk_adjustments")),
    )
    op.create_index(op.f("ix_adjustments_time_ms"), "adjustments", ["time_ms"])
    op.create_table(
        "metering_ledger",
        sa.Column("flush_id", sa.String(length=36), nullable=False),
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("calls", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_pk"],
            ["organizations.pk"],
            name=op.f("fk_metering_ledger_org_pk_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("flush_id", "org_pk", "day", name=op.f("pk_metering_ledger")),
    )
    op.create_index(op.f("ix_metering_ledger_org_pk_day"), "metering_ledger", ["org_pk", "day"])
    op.create_index(op.f("ix_metering_ledger_day"), "metering_ledger", ["day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_metering_ledger_day"), table_name="metering_ledger")
    op.drop_index(op.f("ix_metering_ledger_org_pk_day"), table_name="metering_ledger")
    op.drop_table("metering_ledger")
    op.drop_index(op.f("ix_adjustments_time_ms"), table_name="adjustments")
    op.drop_table("adjustments")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("voided_at_ms")
    op.drop_table("closed_months")
    op.drop_index(op.f("ix_audit_log_action_pk"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at_ms"), table_name="audit_log")
    op.drop_table("audit_log")
