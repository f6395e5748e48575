"""Engines and transactions.

``Database`` hands out connections inside transactions and nothing else; it does not
connect until first used (nothing connects at import time). SQLite runs in WAL mode
with ``synchronous=FULL`` so an acknowledged write survives power loss, and write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing on upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine, make_url

from tallyboard.storage.dialect import StorageDialect, dialect_for

__all__ = ["Database", "normalize_url", "redact_url"]

_BEGIN_MODE = "tallyboard_begin"


def normalize_url(url: str) -> str:
    """Accept the usual spellings and pick the drivers Tallyboard is tested with."""
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def redact_url(url: str) -> str:
    """The URL with any password hidden, for logs and error messages."""
    try:
        return make_url(normalize_url(url)).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is reported by whoever parses it
        return "<unparsable database URL>"


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            "PRAGMA busy_timeout=30000",
            "PRAGMA foreign_keys=ON",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA cache_size=-65536",
        ):
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_MODE, "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


class _SharedRead:
    """The one read transaction of a :meth:`Database.read_scope`, opened on first use."""

    __slots__ = ("connection", "transaction")

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.transaction: Any = None

    def open(self, engine: Engine) -> Connection:
        if self.connection is None:
            self.connection = engine.connect()
            self.transaction = self.connection.begin()
        return self.connection

    def close(self, commit: bool) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            if commit:
                self.transaction.commit()
            else:
                self.transaction.rollback()
        finally:
            connection.close()


class Database:
    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = normalize_url(url)
        parsed = make_url(self.url)
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
        else:
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = pool_size * 2
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        self.dialect: StorageDialect = dialect_for(self.engine.dialect.name)
        if self.dialect.name == "sqlite":
            _configure_sqlite(self.engine)
        self._shared: ContextVar[_SharedRead | None] = ContextVar(
            f"tallyboard_read_scope_{id(self)}", default=None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect.name == "sqlite"

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both engines).

        Inside :meth:`read_scope` every ``read()`` shares the scope's one connection
        and transaction instead of checking out, beginning and committing its own.
        """
        shared = self._shared.get()
        if shared is None:
            with self.engine.connect() as conn, conn.begin():
                yield conn
            return
        try:
            yield shared.open(self.engine)
        except BaseException:
            # A failed statement may have spoiled the transaction (PostgreSQL aborts
            # it): end it, and let a later read() of the scope begin a fresh one.
            shared.close(commit=False)
            raise

    @contextmanager
    def read_scope(self) -> Iterator[None]:
        """Share one read transaction between every :meth:`read` of a request.

        A GraphQL request reads the caller's credential, their grants and the figures:
        one connection checkout and one BEGIN/COMMIT for all of them costs a fraction
        of one per read (decision 0009). Only for read-only work in a single thread.
        """
        shared = _SharedRead()
        token = self._shared.set(shared)
        try:
            yield
        except BaseException:
            self._shared.reset(token)
            shared.close(commit=False)
            raise
        self._shared.reset(token)
        shared.close(commit=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits without an exception.

        Inside a :meth:`read_scope`, the scope's read transaction ends first, so reads
        after the write see it (and SQLite's writer never waits on our own reader).
        """
        shared = self._shared.get()
        if shared is not None:
            shared.close(commit=True)
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
            with conn.begin():
                yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
