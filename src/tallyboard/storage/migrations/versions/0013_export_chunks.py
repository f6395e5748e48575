"""Export files as ordered chunks (spec §9 "Exports", bounded memory): a finished file is
stored as rows of about a MiB in ``export_chunks`` instead of one ``content`` value,
so building, storing and serving it never holds it whole in memory. Files already in
``content`` move into one chunk each.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 20:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    key = sa.String(length=32).with_variant(sa.String(length=32, collation="C"), "postgresql")
    op.create_table(
        "export_chunks",
        sa.Column("export_id", key, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("export_id", "seq", name=op.f("pk_export_chunks")),
    )
    op.execute(
        "INSERT INTO export_chunks (export_id, seq, data) "
        "SELECT id, 0, content FROM export_jobs WHERE content IS NOT NULL"
    )
    op.execute("UPDATE export_jobs SET content = NULL WHERE content IS NOT NULL")


def downgrade() -> None:
    op.drop_table("export_chunks")
