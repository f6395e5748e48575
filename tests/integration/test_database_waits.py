"""Every wait on the database is bounded, and outages surface as ServiceUnavailableError
(issue 11, item 10; decision 0014).

- SQLite: a *nowait* read scope (what the event loop uses) reads while a writer holds
  the lock, never writes, and never waits for the busy handler; the other connections
  wait at most ``DatabaseTimeouts.lock``.
- PostgreSQL: statement and lock timeouts are set on every connection.
- Both: driver errors that mean "unavailable" become ServiceUnavailableError with a
  kind; a bug's error stays what it is.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import insert

from tallyboard.domain.errors import ServiceUnavailableError
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database, DatabaseTimeouts, unavailable_error


@pytest.fixture
def held_write_lock(sqlite_url: str) -> Iterator[sqlite3.Connection]:
    """Another connection (as another process would) holding SQLite's write lock."""
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO instance_secrets (name, value) VALUES ('held', 'x')")
    yield other
    other.execute("ROLLBACK")
    other.close()


@pytest.mark.sqlite
def test_a_nowait_scope_reads_past_a_writer_and_refuses_to_write_at_once(
    sqlite_url: str, held_write_lock: sqlite3.Connection
) -> None:
    database = Database(sqlite_url, timeouts=DatabaseTimeouts(lock=2.0))
    try:
        assert database.can_read_without_waiting
        started = time.monotonic()
        with database.read_scope(nowait=True) as scope:
            with database.read() as conn:  # WAL: a reader never waits for the writer
                assert conn.exec_driver_sql("SELECT count(*) FROM organizations").scalar() == 0
            with pytest.raises(ServiceUnavailableError), database.write() as conn:
                conn.execute(insert(t.instance_secrets).values(name="n", value="v"))
        assert scope.blocked
        assert time.monotonic() - started < 0.5  # where a write waits for the lock:

        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as raised, database.write() as conn:
            conn.execute(insert(t.instance_secrets).values(name="n", value="v"))
        waited = time.monotonic() - started
        assert 1.5 < waited < 10  # TALLYBOARD_DB_LOCK_TIMEOUT, then a clean error
        assert raised.value.kind == "database:SQLITE_BUSY"
        assert raised.value.retry_after == 1
    finally:
        database.dispose()


@pytest.mark.sqlite
def test_an_unopenable_sqlite_file_is_unavailable_not_a_bug(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    with pytest.raises(ServiceUnavailableError) as raised, database.read() as conn:
        conn.exec_driver_sql("SELECT 1")
    assert raised.value.kind == "database:SQLITE_CANTOPEN"
    assert str(tmp_path) in (raised.value.where or "")
    assert str(tmp_path) not in raised.value.message  # clients never see a path
    database.dispose()


@pytest.mark.sqlite
def test_a_bug_in_sql_is_not_an_outage(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    with pytest.raises(sa_exc.OperationalError) as raised, database.read() as conn:
        conn.exec_driver_sql("SELECT no_such_column FROM organizations")
    assert unavailable_error(raised.value) is None
    database.dispose()


@pytest.mark.postgres
def test_postgresql_connections_carry_the_statement_and_lock_timeouts(postgres_url: str) -> None:
    database = Database(postgres_url, timeouts=DatabaseTimeouts(statement=1.5, lock=0.25))
    try:
        with database.read() as conn:
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "1500ms"
            assert conn.exec_driver_sql("SHOW lock_timeout").scalar() == "250ms"
        started = time.monotonic()
        with pytest.raises(ServiceUnavailableError) as raised, database.read() as conn:
            conn.exec_driver_sql("SELECT pg_sleep(5)")
        assert time.monotonic() - started < 4
        assert raised.value.kind == "database:QueryCanceled"
        migrations = Database(postgres_url, timeouts=DatabaseTimeouts(statement=None))
        with migrations.read() as conn:  # schema changes may take as long as they take
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "0"
        migrations.dispose()
    finally:
        database.dispose()


@pytest.mark.postgres
def test_a_refused_postgresql_connection_is_unavailable(postgres_url: str) -> None:
    import socket
    from urllib.parse import urlsplit

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    closed = urlsplit(postgres_url)._replace(netloc=f"postgres@127.0.0.1:{port}").geturl()
    database = Database(closed, timeouts=DatabaseTimeouts(connect=2))
    started = time.monotonic()
    with pytest.raises(ServiceUnavailableError) as raised, database.read():
        pass
    assert time.monotonic() - started < 3
    assert raised.value.kind == "database:OperationalError"
    assert raised.value.retry_after == 5
    database.dispose()


@pytest.mark.postgres
def test_an_outage_on_the_drivers_own_cursor_is_unavailable_too(postgres_url: str) -> None:
    """``dialect.insert_absent`` runs on psycopg's cursor, whose errors SQLAlchemy never
    wraps: a timeout or a deadlock there is an outage (503), not a bug (500)."""
    database = Database(postgres_url, timeouts=DatabaseTimeouts(statement=0.3))
    try:

        def sleep_on_the_drivers_cursor() -> None:
            with database.write() as conn:
                driver = conn.connection.driver_connection
                assert driver is not None
                with driver.cursor() as cursor:
                    cursor.execute("SELECT pg_sleep(5)")

        with pytest.raises(ServiceUnavailableError) as raised:
            sleep_on_the_drivers_cursor()
        assert raised.value.kind == "database:QueryCanceled"
    finally:
        database.dispose()
