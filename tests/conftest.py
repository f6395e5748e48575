"""Fixtures shared by every test layer.

- ``database_url``: a fresh, migrated database per test, parametrized over SQLite and
  PostgreSQL (marked ``sqlite`` / ``postgres``).
- ``sqlite_url`` / ``postgres_url``: one backend only.
- ``redis_url``: the real Redis server (marked ``redis``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.backends import (
    PostgresServer,
    copy_sqlite,
    postgres_admin_url,
    redis_url_or_skip,
    sqlite_template,
)


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(postgres_admin_url())
    yield server
    server.drop_all()


@pytest.fixture
def sqlite_url(_sqlite_template: Path, tmp_path: Path) -> str:
    return copy_sqlite(_sqlite_template, tmp_path)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()


@pytest.fixture(
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def redis_url() -> str:
    return redis_url_or_skip()
