"""The events of one organization in a time range, by index (``verify``, exports, voids).

``verify`` reads an organization-month's raw events; by the primary key alone that
walks every event of the organization (every month), by the ``time_ms`` index every
event of every organization in the month -- PostgreSQL's planner picked the latter,
fifty times the rows at fifty organizations. ``(org_pk, time_ms)`` reads just the
month's rows of the organization (decision 0020).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f("ix_events_org_pk_time_ms"), "events", ["org_pk", "time_ms"])


def downgrade() -> None:
    op.drop_index(op.f("ix_events_org_pk_time_ms"), table_name="events")
