"""A small SQLite page cache for the length of one long scan or bulk write (exports).

Every SQLite connection keeps up to 64 MiB of pages (``database.py``): right for the
statistics queries, but an export that reads a million events, or writes its file as
chunks, would fill it, so the builder's memory would grow with the export up to that
ceiling. Within :func:`small_page_cache` the connection keeps at most
:data:`SCAN_CACHE_KIB`; its own size is restored afterwards. PostgreSQL keeps its pages
in the server: nothing to do there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Connection

__all__ = ["SCAN_CACHE_KIB", "small_page_cache"]

SCAN_CACHE_KIB = 2048


@contextmanager
def small_page_cache(conn: Connection) -> Iterator[None]:
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{SCAN_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")
