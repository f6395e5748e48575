"""The same migrations on SQLite and PostgreSQL; the server refuses an unmigrated database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

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


def test_the_migrations_build_exactly_the_tables_module(empty_database: Database) -> None:
    migrate.upgrade(empty_database)
    with empty_database.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    empty_database.dispose()


def test_catalog_attributes_inherit_the_time_of_the_name_they_were_set_with(
    empty_database: Database,
) -> None:
    migrate.upgrade(empty_database, "0004")
    with empty_database.engine.begin() as conn:
        conn.execute(
            text("INSERT INTO organizations (id, uuid, name, created_at) VALUES ('1', 'u', 'O', 0)")
        )
        conn.execute(
            text(
                "INSERT INTO projects (org_pk, project_id, name, icon, color, name_at) VALUES "
                "(1, 'p1', 'Sales', 'cart', NULL, 50), (1, 'p2', 'Ops', NULL, NULL, 60)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO flows (org_pk, flow_id, name, project_id, name_at) VALUES "
                "(1, 'f1', 'Sync', 'p1', 70), (1, 'f2', 'f2', NULL, 0), (1, 'f3', 'X', NULL, 80)"
            )
        )
    migrate.upgrade(empty_database)
    with empty_database.engine.connect() as conn:
        projects = conn.execute(
            text("SELECT project_id, icon_at, color_at FROM projects ORDER BY project_id")
        ).all()
        flows = conn.execute(text("SELECT flow_id, project_at FROM flows ORDER BY flow_id")).all()
    assert [tuple(r) for r in projects] == [("p1", 50, 0), ("p2", 0, 0)]
    assert [tuple(r) for r in flows] == [("f1", 70), ("f2", 0), ("f3", 0)]
    empty_database.dispose()


def test_monthly_totals_are_seeded_from_the_rollups_and_clamped_to_the_ceiling(
    empty_database: Database,
) -> None:
    """A month written before the ceiling existed keeps its rows as they are; its total
    is recorded at the ceiling at most, so nothing more is added to it."""
    migrate.upgrade(empty_database, "0005")
    big = 6 * 10**18  # two of these pass 2^63: SQLite's sum() would raise
    with empty_database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organizations (id, uuid, name, created_at) "
                "VALUES ('1', 'u1', 'O', 0), ('2', 'u2', 'P', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO api_calls_monthly (org_pk, month, dimension, value, calls) VALUES "
                "(1, '2026-10', 0, '', 7), (1, '2026-10', 1, 'GetCards', 7), "
                "(2, '2026-11', 0, '', 3)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO flow_usage_monthly (org_pk, month, flow_id, tasks, runs, "
                "last_run_at) VALUES (1, '2026-10', 'f1', 10, 2, 0), "
                "(1, '2026-10', 'f2', 5, 1, 0), (1, '2026-11', 'f1', :big, 1, 0), "
                "(1, '2026-11', 'f2', :big, 1, 0)"
            ),
            {"big": big},
        )
        conn.execute(
            text(
                "INSERT INTO ai_credits_monthly (org_pk, month, resource, agent_id, credits) "
                "VALUES (1, '2026-10', 1, 'a', 1500000), (1, '2026-10', 2, '', 500000), "
                "(2, '2026-12', 2, '', :big)"
            ),
            {"big": big},
        )
    migrate.upgrade(empty_database)
    with empty_database.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT org_pk, month, calls, tasks, runs, credits FROM usage_totals_monthly "
                "ORDER BY org_pk, month"
            )
        ).all()
    ceiling = 10**14
    assert [tuple(r) for r in rows] == [
        (1, "2026-10", 7, 15, 3, 2_000_000),
        (1, "2026-11", 0, ceiling, 2, 0),
        (2, "2026-11", 3, 0, 0, 0),
        (2, "2026-12", 0, 0, 0, ceiling),
    ]
    empty_database.dispose()
