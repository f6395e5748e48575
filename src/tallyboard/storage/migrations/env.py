"""Alembic environment: runs on the connection handed over by ``tallyboard.storage.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from tallyboard.storage.tables import metadata

connection: Connection | None = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `tallyboard migrate`, which supplies the connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite needs table copies to ALTER
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
