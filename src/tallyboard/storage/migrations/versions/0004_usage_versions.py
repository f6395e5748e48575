"""Per-organization versions of the usage rollups, for exact answer reuse (decision 0010).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "usage_versions",
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("stream", sa.SmallInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_pk"],
            ["organizations.pk"],
            name=op.f("fk_usage_versions_org_pk_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_pk", "stream", name=op.f("pk_usage_versions")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("usage_versions")
