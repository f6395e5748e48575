"""Section 11: the audit log and closed months.

Revision ID: 0009
Revises: 0006
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0006"
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


def downgrade() -> None:
    op.drop_table("closed_months")
    op.drop_index(op.f("ix_audit_log_action_pk"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_at_ms"), table_name="audit_log")
    op.drop_table("audit_log")
