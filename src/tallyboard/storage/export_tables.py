"""The table of export jobs (spec §9 "Exports"), on the schema's ``metadata``.

An export is a durable job: the row is written when the mutation runs and is built by
whichever server process claims it (``storage/export_store.py``). The public id is a
random token, so ids of other principals cannot be guessed or enumerated; the finished
file lives in ``export_chunks`` (or under ``TALLYBOARD_EXPORT_DIR``, then ``file_path``).
``content`` is no longer written: migration 0013 moved older files into chunks.

A file is stored as ordered chunks of about a MiB, written one at a time and read back
one at a time, so neither its build nor its download holds it whole in memory.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
)

from tallyboard.storage.tables import _key_text, metadata

__all__ = ["export_chunks", "export_jobs"]

export_jobs = Table(
    "export_jobs",
    metadata,
    Column("id", _key_text(32), primary_key=True),
    Column("principal_kind", String(32), nullable=False),
    Column("principal_pk", Integer, nullable=False),
    # automation_jobs | usage_report
    Column("kind", String(32), nullable=False),
    # XLSX | CSV
    Column("format", String(8), nullable=False),
    # The validated input as JSON (organization, period ...).
    Column("parameters", Text, nullable=False),
    # created | processing | finished | failed | expired
    Column("status", String(16), nullable=False),
    Column("partial", Boolean, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    # When a process claimed it last (a build older than the lease is resumed); on an
    # expired job, when its stored chunks are due for deletion (null once deleted).
    Column("claimed_at", BigInteger, nullable=True),
    Column("finished_at", BigInteger, nullable=True),
    Column("expires_at", BigInteger, nullable=True),
    Column("file_name", Text, nullable=True),
    Column("content", LargeBinary, nullable=True),
    Column("file_path", Text, nullable=True),
    # Who created it, as the audit log names them (null on jobs from before 0011).
    Column("actor_kind", String(32), nullable=True),
    Column("actor_name", Text, nullable=True),
    Index("ix_export_jobs_principal_status", "principal_kind", "principal_pk", "status"),
    Index("ix_export_jobs_status_claimed_at", "status", "claimed_at"),
)

export_chunks = Table(
    "export_chunks",
    metadata,
    Column("export_id", _key_text(32), primary_key=True),
    # 0, 1, 2 ...: the file is the chunks' data concatenated in this order.
    Column("seq", Integer, primary_key=True),
    Column("data", LargeBinary, nullable=False),
)
