"""Each organization's monthly totals, bounded by CHECK constraints (decision 0012).

Existing rollups seed the totals: API calls from the monthly TOTAL rows, tasks and runs
from the monthly flow rows, micro-credits from the monthly credit rows. A month already
past the ceiling (written before it existed) is recorded *at* the ceiling, so it takes
nothing more. SQLite sums with ``total()`` (a float, which cannot raise "integer
overflow" on such a month; exact below 2^53, and anything above is clamped anyway).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CEILING = 10**14
FIGURES = ("calls", "tasks", "runs", "credits")
_SOURCES = {
    # table: (figure columns summed, their place in FIGURES, extra condition)
    "api_calls_monthly": (("calls",), (0,), "dimension = 0"),
    "flow_usage_monthly": (("tasks", "runs"), (1, 2), "1 = 1"),
    "ai_credits_monthly": (("credits",), (3,), "1 = 1"),
}


def upgrade() -> None:
    table = op.create_table(
        "usage_totals_monthly",
        sa.Column("org_pk", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        *(sa.Column(figure, sa.BigInteger(), nullable=False) for figure in FIGURES),
        *(
            sa.CheckConstraint(
                f"{figure} BETWEEN 0 AND {CEILING}",
                name=op.f(f"ck_usage_totals_monthly_{figure}_ceiling"),
            )
            for figure in FIGURES
        ),
        sa.ForeignKeyConstraint(
            ["org_pk"],
            ["organizations.pk"],
            name=op.f("fk_usage_totals_monthly_org_pk_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("org_pk", "month", name=op.f("pk_usage_totals_monthly")),
        sqlite_with_rowid=False,
    )
    bind = op.get_bind()
    add = "total" if bind.dialect.name == "sqlite" else "sum"
    totals: dict[tuple[int, str], list[int]] = {}
    for source, (columns, places, condition) in _SOURCES.items():
        sums = ", ".join(f"{add}({column})" for column in columns)
        query = (
            f"SELECT org_pk, month, {sums} FROM {source} WHERE {condition} GROUP BY org_pk, month"
        )
        for org_pk, month, *values in bind.execute(sa.text(query)):
            row = totals.setdefault((org_pk, month), [0, 0, 0, 0])
            for place, value in zip(places, values, strict=True):
                row[place] = CEILING if value > CEILING else int(value)
    if totals:
        op.bulk_insert(
            table,
            [
                {"org_pk": org_pk, "month": month, **dict(zip(FIGURES, values, strict=True))}
                for (org_pk, month), values in sorted(totals.items())
            ],
        )


def downgrade() -> None:
    op.drop_table("usage_totals_monthly")
