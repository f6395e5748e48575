"""Engines and transactions.

``Database`` hands out connections inside transactions and nothing else; it does not
connect until first used (nothing connects at import time). SQLite runs in WAL mode
with ``synchronous=FULL`` so an acknowledged write survives power loss, and write
transactions start with ``BEGIN IMMEDIATE`` so two writers queue on the lock instead
of failing on upgrade.

Every wait on the database is bounded (:class:`DatabaseTimeouts`, docs/operations.md),
and a database that is unreachable, stalled, locked too long or full surfaces as
:class:`ServiceUnavailableError` (503 with ``Retry-After`` at both edges), never as a
driver exception: callers cannot tell an outage from a bug otherwise.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import SingletonThreadPool

from tallyboard.domain.errors import ServiceUnavailableError
from tallyboard.storage.dialect import StorageDialect, dialect_for

__all__ = [
    "Database",
    "DatabaseTimeouts",
    "ReadScope",
    "normalize_url",
    "redact_url",
    "unavailable_error",
]

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


@dataclass(frozen=True, slots=True)
class DatabaseTimeouts:
    """How long anything may wait on the database (settings ``db_*_timeout``).

    ``connect`` bounds opening a connection (libpq ``connect_timeout``) and waiting for
    a pooled one (SQLAlchemy ``pool_timeout``); ``statement`` is PostgreSQL's
    ``statement_timeout`` (None: unlimited, for migrations); ``lock`` is PostgreSQL's
    ``lock_timeout`` and SQLite's busy timeout. A *stalled* server (SIGSTOP, a hung
    host) acknowledges TCP but never answers: no server-side timeout fires then, so
    the edge never waits for the database on the event loop (decision 0014).
    """

    connect: float = 5.0
    statement: float | None = 30.0
    lock: float = 10.0


# Failures that say "the database cannot serve now", not "this code is wrong".
_SQLITE_UNAVAILABLE = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOTADB,
    }
)
_SQLITE_CONTENTION = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
# SQLSTATE classes: connection exception, transaction rollback (serialization,
# deadlock), insufficient resources (disk full, too many connections), operator
# intervention (statement timeout, shutdown), system error (I/O).
_PG_UNAVAILABLE_CLASSES = frozenset({"08", "40", "53", "57", "58"})
_PG_UNAVAILABLE_STATES = frozenset({"55P03", "25P03"})  # lock_timeout, idle timeout
_PG_CONTENTION = frozenset({"55P03", "40001", "40P01", "57014"})


_STORAGE_FAILURES = ("SQLITE_IOERR", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_CORRUPT")


def _message(kind: str, contention: bool) -> tuple[str, int]:
    """What the client is told, and after how many seconds a retry makes sense."""
    name = kind.partition(":")[2]
    if contention:
        return "The database is busy; retry the same request after 1 second", 1
    if name in ("SQLITE_FULL", "DiskFull"):
        return "The database has no space left; retry later (an operator must free space)", 30
    if name.startswith(_STORAGE_FAILURES) or name in ("SQLITE_NOTADB", "SQLITE_NOMEM"):
        return "The database cannot read or write its storage; retry later", 30
    return "The database is unavailable; retry the same request after 5 seconds", 5


def unavailable_error(exc: BaseException) -> ServiceUnavailableError | None:
    """The outage ``exc`` stands for, or None when it is not one (a bug: let it be)."""
    if isinstance(exc, ServiceUnavailableError):
        return exc
    if isinstance(exc, sa_exc.TimeoutError):  # no pooled connection within pool_timeout
        kind, contention = "database:pool_timeout", True
    elif isinstance(exc, (sa_exc.DBAPIError, psycopg.Error)):
        # A statement through SQLAlchemy arrives wrapped; one on the driver's own cursor
        # (``dialect.insert_absent`` on PostgreSQL) arrives as the driver raised it.
        orig = exc.orig if isinstance(exc, sa_exc.DBAPIError) else exc
        if isinstance(orig, sqlite3.Error):
            code = getattr(orig, "sqlite_errorcode", -1) & 0xFF
            if code not in _SQLITE_UNAVAILABLE:
                return None
            kind = f"database:{getattr(orig, 'sqlite_errorname', 'SQLITE_ERROR')}"
            contention = code in _SQLITE_CONTENTION
        elif isinstance(orig, psycopg.Error):
            state = orig.sqlstate
            if state is None and isinstance(orig, psycopg.DataError):
                return None  # refused by the driver for its values (NUL in text): content
            if not (
                state is None
                or state[:2] in _PG_UNAVAILABLE_CLASSES
                or state in _PG_UNAVAILABLE_STATES
                or isinstance(orig, psycopg.InterfaceError)
            ):
                return None
            kind = f"database:{type(orig).__name__}"
            contention = state in _PG_CONTENTION
        elif not (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated):
            return None
        else:
            kind, contention = f"database:{type(orig).__name__}", False
    else:
        return None
    message, retry_after = _message(kind, contention)
    return ServiceUnavailableError(message, retry_after, kind)


@contextmanager
def _translated(where: str) -> Iterator[None]:
    try:
        yield
    except (sa_exc.DBAPIError, sa_exc.TimeoutError, psycopg.Error) as exc:
        error = unavailable_error(exc)
        if error is None:
            raise
        error.where = where
        raise error from exc


def _postgres_connect_args(url: str, timeouts: DatabaseTimeouts) -> dict[str, Any]:
    """libpq options: bounded connect, server-side statement and lock timeouts, and TCP
    keepalives plus ``tcp_user_timeout`` so a vanished host or a cut network is noticed
    in ~25 s instead of the kernel's ~15 minutes (they do not help against a stalled
    server, which still acknowledges every packet)."""
    statement_ms = 0 if timeouts.statement is None else int(timeouts.statement * 1000)
    options = f"-c statement_timeout={statement_ms} -c lock_timeout={int(timeouts.lock * 1000)}"
    given = make_url(url).query.get("options")
    if isinstance(given, str) and given:
        options = f"{given} {options}"
    return {
        "connect_timeout": max(2, math.ceil(timeouts.connect)),  # libpq: whole seconds, >= 2
        "options": options,
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 3,
        "tcp_user_timeout": 25_000,
    }


def _configure_sqlite(engine: Engine, busy_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level; transactions are begun explicitly below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=FULL",
            f"PRAGMA busy_timeout={busy_ms}",
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


class ReadScope:
    """The one read transaction of a :meth:`Database.read_scope`, opened on first use.

    A *nowait* scope (SQLite only: work run on the event loop) uses connections with
    no busy wait and no writes: anything that would wait for a lock marks the scope
    ``blocked`` and fails at once, and its caller reruns the work in a worker thread.
    """

    __slots__ = ("blocked", "connection", "engine", "nowait", "transaction")

    def __init__(self, engine: Engine, nowait: bool) -> None:
        self.engine = engine
        self.nowait = nowait
        self.blocked = False
        self.connection: Connection | None = None
        self.transaction: Any = None

    def open(self) -> Connection:
        if self.connection is None:
            self.connection = self.engine.connect()
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
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        timeouts: DatabaseTimeouts | None = None,
    ) -> None:
        self.url = normalize_url(url)
        self.where = redact_url(url)
        """The URL with its password hidden, for messages to operators."""
        self.timeouts = timeouts or DatabaseTimeouts()
        parsed = make_url(self.url)
        kwargs: dict[str, Any] = {
            "echo": echo,
            "pool_size": pool_size,
            "max_overflow": pool_size * 2,
            "pool_timeout": self.timeouts.connect,
        }
        if parsed.get_backend_name() == "sqlite":
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": self.timeouts.lock}
        else:
            kwargs["connect_args"] = _postgres_connect_args(self.url, self.timeouts)
            kwargs["pool_pre_ping"] = True
        self.engine: Engine = create_engine(self.url, **kwargs)
        self.dialect: StorageDialect = dialect_for(self.engine.dialect.name)
        self._nowait_engine: Engine | None = None
        if self.dialect.name == "sqlite":
            _configure_sqlite(self.engine, int(self.timeouts.lock * 1000))
            # One connection per thread (only the event loop's thread uses it), never
            # waiting for the busy handler: decision 0014.
            self._nowait_engine = create_engine(
                self.url,
                echo=echo,
                poolclass=SingletonThreadPool,
                connect_args={"check_same_thread": False, "timeout": 0},
            )
            _configure_sqlite(self._nowait_engine, 0)
        self._shared: ContextVar[ReadScope | None] = ContextVar(
            f"tallyboard_read_scope_{id(self)}", default=None
        )

    @property
    def is_sqlite(self) -> bool:
        return self.dialect.name == "sqlite"

    @property
    def engines(self) -> tuple[Engine, ...]:
        """Every engine statements may run on (tools and tests that watch them)."""
        if self._nowait_engine is None:
            return (self.engine,)
        return (self.engine, self._nowait_engine)

    @property
    def can_read_without_waiting(self) -> bool:
        """Whether :meth:`read_scope` can promise never to wait (SQLite only: a
        PostgreSQL round trip can always hang on the network or a stalled server)."""
        return self._nowait_engine is not None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both engines).

        Inside :meth:`read_scope` every ``read()`` shares the scope's one connection
        and transaction instead of checking out, beginning and committing its own.
        """
        shared = self._shared.get()
        if shared is None:
            with _translated(self.where), self.engine.connect() as conn, conn.begin():
                yield conn
            return
        try:
            with _translated(self.where):
                yield shared.open()
        except BaseException as exc:
            # A failed statement may have spoiled the transaction (PostgreSQL aborts
            # it): end it, and let a later read() of the scope begin a fresh one.
            if shared.nowait and isinstance(exc, ServiceUnavailableError):
                shared.blocked = True
            shared.close(commit=False)
            raise

    @contextmanager
    def read_scope(self, *, nowait: bool = False) -> Iterator[ReadScope]:
        """Share one read transaction between every :meth:`read` of a request.

        A GraphQL request reads the caller's credential, their grants and the figures:
        one connection checkout and one BEGIN/COMMIT for all of them costs a fraction
        of one per read (decision 0009). Only for read-only work in a single thread.
        ``nowait`` (only where :attr:`can_read_without_waiting`): see :class:`ReadScope`.
        """
        engine = self.engine
        if nowait:
            if self._nowait_engine is None:
                raise ValueError("only SQLite can read without waiting")
            engine = self._nowait_engine
        shared = ReadScope(engine, nowait)
        token = self._shared.set(shared)
        try:
            yield shared
        except BaseException:
            self._shared.reset(token)
            shared.close(commit=False)
            raise
        self._shared.reset(token)
        with _translated(self.where):
            shared.close(commit=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block exits without an exception.

        Inside a :meth:`read_scope`, the scope's read transaction ends first, so reads
        after the write see it (and SQLite's writer never waits on our own reader).
        A nowait scope never writes: it is marked blocked and the write refused.
        """
        shared = self._shared.get()
        if shared is not None:
            if shared.nowait:
                shared.blocked = True
                raise ServiceUnavailableError(
                    "The database is busy; retry the same request after 1 second",
                    1,
                    "database:write_on_event_loop",
                )
            shared.close(commit=True)
        with _translated(self.where), self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(**{_BEGIN_MODE: "IMMEDIATE"})
            with conn.begin():
                yield conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A plain connection (no transaction begun), for schema tools."""
        with _translated(self.where), self.engine.connect() as conn:
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()
        if self._nowait_engine is not None:
            self._nowait_engine.dispose()
