"""Pipes, automations and automation jobs (spec §9), on the metadata of ``tables``.

- ``pipes``: where automations live; a pipe has a uuid (generated when the document
  omits it), unique across the instance like an organization's.
- ``automations``: the catalog entry (the columns it shares with ``agents`` come from
  ``catalog_columns``); ``name_at`` ranks the name like every catalog name
  (``domain/catalog.py``); a name is null until an event or the document names it.
- ``automation_jobs_daily`` / ``_monthly``: jobs per automation per UTC day and month,
  with the latest job's time. Day ranges read the daily table (days x automations
  rows), periods the monthly one (months x automations rows); the jobs of an *event
  pipe* are these rows joined to the catalog's current ``event_pipe`` (at most
  months x automations rows), whatever the number of jobs (decision 0003).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Integer, String, Table, Text, text

from tallyboard.storage.catalog_columns import APPLIED, entry_columns
from tallyboard.storage.tables import _key_text, _org_fk, metadata

__all__ = ["automation_jobs_daily", "automation_jobs_monthly", "automations", "pipes"]

pipes = Table(
    "pipes",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("pipe_id", _key_text(128), primary_key=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("icon", Text, nullable=True),
    Column("color", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column(APPLIED, Text, nullable=True),
)

automations = Table(
    "automations",
    metadata,
    Column("org_pk", Integer, _org_fk(), primary_key=True),
    Column("automation_id", _key_text(128), primary_key=True),
    Column("name", Text, nullable=True),
    Column("name_at", BigInteger, nullable=False, server_default="0"),
    Column("deleted", Boolean, nullable=False, server_default=text("false")),
    *entry_columns(lambda n: _key_text(n)),
)


def _jobs(name: str, bucket: str, width: int) -> Table:
    return Table(
        name,
        metadata,
        Column("org_pk", Integer, _org_fk(), primary_key=True),
        Column(bucket, String(width), primary_key=True),
        Column("automation_id", _key_text(128), primary_key=True),
        Column("jobs", BigInteger, nullable=False),
        Column("last_job_at", BigInteger, nullable=False),  # epoch ms
        sqlite_with_rowid=False,
    )


automation_jobs_daily = _jobs("automation_jobs_daily", "day", 10)
automation_jobs_monthly = _jobs("automation_jobs_monthly", "month", 7)
