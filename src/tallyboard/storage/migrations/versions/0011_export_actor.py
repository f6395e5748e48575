"""Section 11 audit of exports: each export job keeps the audit actor that created it
(the credential's kind and name, never a secret), so its download -- made by signed
link, with no bearer token -- is recorded under the principal the link was issued to.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("export_jobs", sa.Column("actor_kind", sa.String(length=32), nullable=True))
    op.add_column("export_jobs", sa.Column("actor_name", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("export_jobs") as batch:
        batch.drop_column("actor_name")
        batch.drop_column("actor_kind")
