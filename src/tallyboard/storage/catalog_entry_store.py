"""Reads and writes of catalog entries behind ``admin apply`` (agents, flows, projects,
pipes, automations), inside the applier's transaction."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t
from tallyboard.storage.tables_automation import pipes

__all__ = ["KEY_COLUMNS", "entry_rows", "known_emails", "pipe_uuids", "pipes_of", "upsert"]

KEY_COLUMNS = {
    "agents": "agent_id",
    "projects": "project_id",
    "flows": "flow_id",
    "pipes": "pipe_id",
    "automations": "automation_id",
}


def entry_rows(conn: Connection, table_name: str, org_pk: int) -> dict[str, dict[str, Any]]:
    """Every entry of one organization in ``table_name``, by its id."""
    table = t.metadata.tables[table_name]
    key = KEY_COLUMNS[table_name]
    rows = conn.execute(select(table).where(table.c.org_pk == org_pk)).mappings()
    return {row[key]: dict(row) for row in rows}


def pipes_of(conn: Connection, org_pks: Collection[int]) -> dict[int, dict[str, str]]:
    """org pk -> {pipe id: uuid}."""
    out: dict[int, dict[str, str]] = {pk: {} for pk in org_pks}
    if org_pks:
        query = select(pipes.c.org_pk, pipes.c.pipe_id, pipes.c.uuid).where(
            pipes.c.org_pk.in_(list(org_pks))
        )
        for org_pk, pipe_id, pipe_uuid in conn.execute(query):
            out[org_pk][pipe_id] = pipe_uuid
    return out


def pipe_uuids(conn: Connection, uuids: Collection[str]) -> dict[str, tuple[int, str]]:
    """uuid -> (org pk, pipe id) of every stored pipe holding one of ``uuids``."""
    if not uuids:
        return {}
    query = select(pipes.c.uuid, pipes.c.org_pk, pipes.c.pipe_id).where(
        pipes.c.uuid.in_(list(uuids))
    )
    return {u: (org_pk, pipe_id) for u, org_pk, pipe_id in conn.execute(query)}


def known_emails(conn: Connection, emails: Collection[str]) -> set[str]:
    if not emails:
        return set()
    u = t.users
    return set(conn.execute(select(u.c.email).where(u.c.email.in_(list(emails)))).scalars())


def upsert(
    conn: Connection,
    table_name: str,
    org_pk: int,
    key: str,
    values: Mapping[str, Any],
    *,
    exists: bool,
) -> None:
    table = t.metadata.tables[table_name]
    key_column = KEY_COLUMNS[table_name]
    if exists:
        conn.execute(
            update(table)
            .where(and_(table.c.org_pk == org_pk, table.c[key_column] == key))
            .values(**values)
        )
    else:
        conn.execute(insert(table).values(org_pk=org_pk, **{key_column: key}, **values))
