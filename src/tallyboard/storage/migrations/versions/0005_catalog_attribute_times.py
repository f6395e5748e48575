"""Each catalog attribute has the time of the fact that set it (issue 11 item 19).

A flow's project and a project's icon and color are ranked on their own, so an event
that does not state them (no ``project``, no ``icon``) no longer overwrites them with
null. Existing values were set by the same fact as the name: they inherit its time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {"flows": ("project",), "projects": ("icon", "color")}
_VALUE = {"project": "project_id", "icon": "icon", "color": "color"}


def upgrade() -> None:
    for table, attributes in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for attribute in attributes:
                batch_op.add_column(
                    sa.Column(
                        f"{attribute}_at", sa.BigInteger(), server_default="0", nullable=False
                    )
                )
        for attribute in attributes:
            op.execute(
                f"UPDATE {table} SET {attribute}_at = name_at WHERE {_VALUE[attribute]} IS NOT NULL"
            )


def downgrade() -> None:
    for table, attributes in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for attribute in attributes:
                batch_op.drop_column(f"{attribute}_at")
