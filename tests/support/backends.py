"""Real database and cache servers for tests.

PostgreSQL and Redis tests talk to real servers. Locally they skip when the server is
absent; under ``CI=true`` an absent server fails the run instead, so nothing that is
supposed to run can silently skip.

Every test gets a database of its own: a copy of a SQLite file migrated once per
session, or a PostgreSQL database created from a migrated template (``CREATE DATABASE
... TEMPLATE``), so tests can count totals without seeing each other's data.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from tallyboard.storage import migrate
from tallyboard.storage.database import Database

__all__ = [
    "IN_CI",
    "PostgresServer",
    "postgres_admin_url",
    "redis_url_or_skip",
    "require_server",
    "sqlite_template",
]

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "TALLYBOARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TALLYBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 1
        ):
            return True
    except OSError:
        return False


def require_server(name: str, url: str, default_port: int) -> None:
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}"
    if IN_CI:
        pytest.fail(f"{message}; CI must run these tests (see .ci/run)", pytrace=False)
    pytest.skip(message)


def postgres_admin_url() -> str:
    require_server("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


def redis_url_or_skip() -> str:
    require_server("Redis", REDIS_URL, 6379)
    return REDIS_URL


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return parts._replace(path=f"/{name}").geturl()


class PostgresServer:
    """Creates per-test databases from one migrated template per test session."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.prefix = f"tbtest_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_template"
        self._created: list[str] = [self.template]
        self._execute(f'CREATE DATABASE "{self.template}"')
        database = Database(_with_database(admin_url, self.template))
        migrate.upgrade(database)
        database.dispose()

    def _execute(self, sql: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql.encode())  # generated names, never user input

    def new_database(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        self._execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._created.append(name)
        return _with_database(self.admin_url, name)

    def empty_database(self) -> str:
        name = f"{self.prefix}_{uuid.uuid4().hex[:8]}"
        self._execute(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return _with_database(self.admin_url, name)

    def drop_all(self) -> None:
        for name in reversed(self._created):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sqlite_template(directory: Path) -> Path:
    path = directory / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate.upgrade(database)
    database.dispose()
    return path


def copy_sqlite(template: Path, directory: Path) -> str:
    target = directory / f"{uuid.uuid4().hex[:8]}.db"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"
