"""The API-call daily series reads its TOTAL rows through a covering index (decision 0010).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_api_calls_daily_org_pk_dimension_day_calls"


def upgrade() -> None:
    op.create_index(INDEX, "api_calls_daily", ["org_pk", "dimension", "day", "calls"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="api_calls_daily")
