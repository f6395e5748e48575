"""What the command line says when the database cannot be used: what failed, and how to
fix it -- never a Python traceback (issue 11, item 17)."""

from __future__ import annotations

from tallyboard.domain.errors import ServiceUnavailableError

__all__ = ["database_problem"]

_URL_HINT = "Check TALLYBOARD_DATABASE_URL (or --database-url before the command)."
_HINTS = {
    "SQLITE_CANTOPEN": (
        "The SQLite file cannot be opened: check that its directory exists and that this "
        "user may create and write files there. "
    ),
    "SQLITE_READONLY": "The SQLite file (or its directory) is read-only for this user. ",
    "SQLITE_FULL": "The disk holding the database is full: free space, then retry. ",
    "DiskFull": "The disk holding the database is full: free space, then retry. ",
    "SQLITE_BUSY": (
        "Another process holds a lock on the database for longer than "
        "TALLYBOARD_DB_LOCK_TIMEOUT: retry, or raise the timeout. "
    ),
    "SQLITE_NOTADB": "The file is not a SQLite database. ",
    "SQLITE_CORRUPT": "The SQLite file is damaged: restore it from a backup. ",
    "pool_timeout": "No database connection became free within TALLYBOARD_DB_CONNECT_TIMEOUT. ",
}
_SERVER_HINT = (
    "Is the database server running and reachable from here, and do the user, password "
    "and database name in the URL exist? "
)


def database_problem(exc: ServiceUnavailableError) -> str:
    """Two or three lines for stderr: what failed (with the driver's own reason), then
    what to do about it."""
    cause = exc.__cause__
    orig = getattr(cause, "orig", None) or cause
    reason = str(orig).strip().splitlines()[0] if orig is not None and str(orig).strip() else ""
    kind = exc.kind.partition(":")[2] or exc.kind
    where = exc.where or "the database"
    lines = [f"Cannot use the database {where}: {reason or kind} ({kind})."]
    hint = _HINTS.get(kind)
    if hint is None:
        hint = "" if where.startswith("sqlite") else _SERVER_HINT
    lines.append(f"{hint}{_URL_HINT}")
    return "\n".join(lines)
