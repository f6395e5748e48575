"""The small page cache of long export scans (storage/scan_cache.py): SQLite's cache is
cut for the scan and given back afterwards, even when the scan fails."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from tallyboard.storage.scan_cache import SCAN_CACHE_KIB, small_page_cache


def _cache(conn: Connection) -> int:
    return int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())


def test_the_cache_is_small_during_the_scan_and_restored_after() -> None:
    with create_engine("sqlite://").connect() as conn:
        conn.exec_driver_sql("PRAGMA cache_size=-65536")
        with small_page_cache(conn):
            assert _cache(conn) == -SCAN_CACHE_KIB
        assert _cache(conn) == -65536
        with pytest.raises(RuntimeError), small_page_cache(conn):
            raise RuntimeError
        assert _cache(conn) == -65536
