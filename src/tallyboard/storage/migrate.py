"""Schema migrations: apply them, and refuse to serve a database that lacks them."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tallyboard.domain.errors import NotMigratedError
from tallyboard.storage.database import Database, redact_url

__all__ = ["check_migrated", "current_revision", "head_revision", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migrations found")
    return head


def current_revision(database: Database) -> str | None:
    with database.connection() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(database: Database, revision: str = "head") -> None:
    config = _config()
    with database.connection() as conn, conn.begin():
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def check_migrated(database: Database) -> None:
    """Raise :class:`NotMigratedError` with instructions unless the schema is current."""
    current = current_revision(database)
    head = head_revision()
    if current != head:
        where = redact_url(database.url)
        state = "has no Tallyboard schema" if current is None else f"is at revision {current}"
        raise NotMigratedError(
            f"The database {where} {state}; this version needs revision {head}. "
            "Run `tallyboard migrate` (with the same TALLYBOARD_DATABASE_URL) first."
        )
