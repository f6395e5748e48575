"""Export files as ordered chunks in the database (spec §9 "Exports", bounded memory).

Every process can serve a file stored here, and none holds it whole: the builder
inserts it one chunk (:data:`CHUNK_SIZE` bytes) at a time from the file it wrote on
disk, a download reads it back one chunk per short read transaction. The chunks of a
file are written in the transaction that finishes its job (``export_claims.finish``),
so a file is either whole or absent; they are deleted with the job's expiry.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import Select, delete, func, select
from sqlalchemy.engine import Connection

from tallyboard.storage.database import Database
from tallyboard.storage.export_tables import export_chunks as c
from tallyboard.storage.scan_cache import small_page_cache

__all__ = ["CHUNK_SIZE", "delete_chunks", "read_chunk", "stored_size", "write_chunks"]

CHUNK_SIZE = 1 << 20
"""Bytes per chunk: large enough that a download is few round trips, small enough
that one in flight is a negligible share of a process's memory."""


def write_chunks(
    conn: Connection, export_id: str, source: BinaryIO, chunk_size: int = CHUNK_SIZE
) -> int:
    """Replace the export's chunks with ``source`` read to its end; the bytes written
    (through a small page cache: SQLite spills the written pages as it goes)."""
    conn.execute(delete(c).where(c.c.export_id == export_id))
    seq = total = 0
    with small_page_cache(conn):
        while data := source.read(chunk_size):
            conn.execute(c.insert().values(export_id=export_id, seq=seq, data=data))
            seq += 1
            total += len(data)
    return total


def stored_size(conn: Connection, export_id: str) -> tuple[int, int]:
    """(chunks, bytes) of the export's stored file."""
    row = conn.execute(
        select(func.count(), func.coalesce(func.sum(func.length(c.c.data)), 0)).where(
            c.c.export_id == export_id
        )
    ).one()
    return int(row[0]), int(row[1])


def read_chunk(database: Database, export_id: str, seq: int) -> bytes | None:
    """Chunk ``seq`` of the export's file (None: not stored, e.g. expired meanwhile)."""
    with database.read() as conn:
        data = conn.execute(
            select(c.c.data).where(c.c.export_id == export_id, c.c.seq == seq)
        ).scalar_one_or_none()
    return None if data is None else bytes(data)


def delete_chunks(conn: Connection, export_ids: Select[tuple[str]]) -> None:
    """Delete the chunks of the exports ``export_ids`` selects."""
    conn.execute(delete(c).where(c.c.export_id.in_(export_ids)))
