"""The automation-jobs export reads one organization's job events in time order through
a partial index (``storage/tables_automation.py``): without it SQLite sorts all the
organization's events for every chunk of the export.

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

INDEX = "ix_events_automation_jobs"
JOB_EVENT = "type = 4"  # EVENT_TYPE_CODES[EventType.AUTOMATION_JOB], frozen here


def upgrade() -> None:
    op.create_index(
        INDEX,
        "events",
        ["org_pk", "time_ms", "source", "event_id"],
        sqlite_where=sa.text(JOB_EVENT),
        postgresql_where=sa.text(JOB_EVENT),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="events")
