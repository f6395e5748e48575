"""Section 9 exports: durable export jobs (status, principal, kind, parameters, the
file's bytes or path, its expiry).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql")
    op.create_table(
        "export_jobs",
        sa.Column("id", key, nullable=False),
        sa.Column("principal_kind", sa.String(length=32), nullable=False),
        sa.Column("principal_pk", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("format", sa.String(length=8), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("partial", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("claimed_at", sa.BigInteger(), nullable=True),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("expires_at", sa.BigInteger(), nullable=True),
        sa.Column("file_name", sa.Text(), nullable=True),
        sa.Column("content", sa.LargeBinary(), nullable=True),
        sa.Column("file_path", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_jobs")),
    )
    op.create_index(
        "ix_export_jobs_principal_status",
        "export_jobs",
        ["principal_kind", "principal_pk", "status"],
    )
    op.create_index("ix_export_jobs_status_claimed_at", "export_jobs", ["status", "claimed_at"])


def downgrade() -> None:
    op.drop_index("ix_export_jobs_status_claimed_at", table_name="export_jobs")
    op.drop_index("ix_export_jobs_principal_status", table_name="export_jobs")
    op.drop_table("export_jobs")
