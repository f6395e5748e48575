"""The same migrations on SQLite and PostgreSQL; the server refuses an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from tallyboard.domain.errors import NotMigratedError
from tallyboard.storage import migrate
from tallyboard.storage.database import Database
from tallyboard.storage.tables import metadata
from tests.support.backends import PostgresServer


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Database:
    if request.param == "sqlite":
        return Database(f"sqlite:///{tmp_path / 'empty.db'}")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return Database(server.empty_database())


def test_an_empty_database_is_refused_then_migrated_idempotently(empty_database: Database) -> None:
    with pytest.raises(NotMigratedError, match="tallyboard migrate"):
        migrate.check_migrated(empty_database)
    migrate.upgrade(empty_database)
    migrate.upgrade(empty_database)
    migrate.check_migrated(empty_database)
    tables = set(inspect(empty_database.engine).get_table_names())
    assert set(metadata.tables) <= tables
    empty_database.dispose()


@pytest.mark.sqlite
def test_sqlite_runs_in_wal_mode_with_full_sync(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with database.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database.dispose()
