"""Pipes, automations, automation jobs and the agents' new fields (issue 13, spec §9).

- ``pipes`` and ``automations`` (catalog), ``automation_jobs_daily`` / ``_monthly``
  (rollups: jobs and the latest job's time per automation per day and month);
- ``agents`` gain the fields automations have (action, event, status, pipes, tags,
  creator, creation and update times) and, with ``flows`` and ``projects``, the last
  applied document entry (``applied``), so an unchanged entry changes nothing;
- ``usage_totals_monthly`` gains ``jobs`` under the same ceiling (decision 0012).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 16:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CEILING = 10**14


def _key(length: int) -> sa.types.TypeEngine[str]:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _org_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["org_pk"],
        ["organizations.pk"],
        name=op.f(f"fk_{table}_org_pk_organizations"),
        ondelete="CASCADE",
    )


def _entry_columns() -> list[sa.Column[object]]:
    return [
        sa.Column("action", sa.Text(), nullable=True),
        sa.Column("event", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), server_default="active", nullable=False),
        sa.Column("action_pipe", _key(128), nullable=True),
        sa.Column("event_pipe", _key(128), nullable=True),
        sa.Column("tags", sa.Text(), server_default="[]", nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=True),
        sa.Column("first_event_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("applied", sa.Text(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "pipes",
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("pipe_id", _key(128), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("icon", sa.Text(), nullable=True),
        sa.Column("color", sa.Text(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("applied", sa.Text(), nullable=True),
        _org_fk("pipes"),
        sa.PrimaryKeyConstraint("org_pk", "pipe_id", name=op.f("pk_pipes")),
        sa.UniqueConstraint("uuid", name=op.f("uq_pipes_uuid")),
    )
    op.create_table(
        "automations",
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("automation_id", _key(128), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("name_at", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *_entry_columns(),
        _org_fk("automations"),
        sa.PrimaryKeyConstraint("org_pk", "automation_id", name=op.f("pk_automations")),
    )
    for name, bucket, width in (
        ("automation_jobs_daily", "day", 10),
        ("automation_jobs_monthly", "month", 7),
    ):
        op.create_table(
            name,
            sa.Column("org_pk", sa.Integer(), nullable=False),
            sa.Column(bucket, sa.String(width), nullable=False),
            sa.Column("automation_id", _key(128), nullable=False),
            sa.Column("jobs", sa.BigInteger(), nullable=False),
            sa.Column("last_job_at", sa.BigInteger(), nullable=False),
            _org_fk(name),
            sa.PrimaryKeyConstraint("org_pk", bucket, "automation_id", name=op.f(f"pk_{name}")),
            sqlite_with_rowid=False,
        )
    for column in _entry_columns():
        op.add_column("agents", column)
    for table in ("flows", "projects"):
        op.add_column(table, sa.Column("applied", sa.Text(), nullable=True))
    check = f"jobs BETWEEN 0 AND {CEILING}"
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE usage_totals_monthly ADD COLUMN jobs BIGINT NOT NULL DEFAULT 0 "
            f"CONSTRAINT ck_usage_totals_monthly_jobs_ceiling CHECK ({check})"
        )
    else:
        op.add_column(
            "usage_totals_monthly",
            sa.Column("jobs", sa.BigInteger(), server_default="0", nullable=False),
        )
        op.alter_column("usage_totals_monthly", "jobs", server_default=None)
        op.create_check_constraint(
            "ck_usage_totals_monthly_jobs_ceiling", "usage_totals_monthly", check
        )


def downgrade() -> None:
    for name in ("automation_jobs_monthly", "automation_jobs_daily", "automations", "pipes"):
        op.drop_table(name)
    with op.batch_alter_table("agents") as batch:
        for column in _entry_columns():
            batch.drop_column(column.name)
    for table in ("flows", "projects"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("applied")
    with op.batch_alter_table("usage_totals_monthly") as batch:
        batch.drop_column("jobs")
