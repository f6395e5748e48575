"""Agents and automations named by events (spec §5, §9): newest name wins, first event kept.

One portable ``INSERT ... ON CONFLICT DO UPDATE`` (the same text on SQLite and
PostgreSQL) per batch of entries, sorted by key (one lock order for every writer):

- the name is a ranked fact (``name_at``, then the name, nulls as ""), exactly as
  ``dialect.upsert_newer`` ranks flow names (``domain/catalog.py``);
- ``updated_at`` becomes the server time only when the winning name differs from the
  stored one (an event "whose name won");
- ``first_event_at`` keeps the earliest event time (``createdAt`` of an entry known
  only from events);
- a new entry is inserted with its defaults (status ``active``, no tags), and an
  existing entry's ``deleted`` flag and document fields are never touched.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from tallyboard.domain.catalog import CatalogKey, NamedFact

__all__ = ["AGENTS", "AUTOMATIONS", "Applied", "Entries", "apply"]


class Entries(NamedTuple):
    table: str
    key: str


AGENTS = Entries("agents", "agent_id")
AUTOMATIONS = Entries("automations", "automation_id")


def _statement(entries: Entries) -> str:
    table, key = entries
    wins = (
        f"(excluded.name_at > {table}.name_at OR (excluded.name_at = {table}.name_at "
        f"AND coalesce(excluded.name, '') > coalesce({table}.name, '')))"
    )
    differs = f"coalesce(excluded.name, '') <> coalesce({table}.name, '')"
    return (
        f"INSERT INTO {table} (org_pk, {key}, name, name_at, first_event_at, updated_at) "
        "VALUES (:org, :id, :name, :name_at, :first, :now) "
        f"ON CONFLICT (org_pk, {key}) DO UPDATE SET "
        f"name = CASE WHEN {wins} THEN excluded.name ELSE {table}.name END, "
        f"name_at = CASE WHEN {wins} THEN excluded.name_at ELSE {table}.name_at END, "
        f"updated_at = CASE WHEN {wins} AND {differs} THEN excluded.updated_at "
        f"ELSE {table}.updated_at END, "
        f"first_event_at = CASE WHEN {table}.first_event_at IS NULL "
        f"OR excluded.first_event_at < {table}.first_event_at "
        f"THEN excluded.first_event_at ELSE {table}.first_event_at END"
    )


_STATEMENTS = {entries: _statement(entries) for entries in (AGENTS, AUTOMATIONS)}


class Applied(NamedTuple):
    named: set[int]
    """Organizations with facts (their usage stamp is raised, as before)."""
    changed: set[int]
    """Organizations whose catalog rows, as a listing shows them, the facts change."""


def _stored_query(entries: Entries) -> str:
    table, key = entries
    return (
        f"SELECT {key}, name, name_at, first_event_at FROM {table} "
        f"WHERE org_pk = :org AND {key} IN :ids"
    )


_STORED = {
    entries: text(_stored_query(entries)).bindparams(bindparam("ids", expanding=True))
    for entries in (AGENTS, AUTOMATIONS)
}


def _changed(conn: Connection, entries: Entries, facts: Mapping[CatalogKey, NamedFact]) -> set[int]:
    """The organizations where a fact inserts an entry, wins with another name or moves
    the first event earlier: the statement's own rules, read before it runs. Newest-wins
    and earliest-wins are monotone, so a fact that changes nothing now cannot change
    anything after a concurrent writer's (which bumps on its own)."""
    by_org: dict[int, dict[str, NamedFact]] = {}
    for (org, key), fact in facts.items():
        by_org.setdefault(org, {})[key] = fact
    changed: set[int] = set()
    for org, named in sorted(by_org.items()):
        found = conn.execute(_STORED[entries], {"org": org, "ids": sorted(named)})
        stored = {key: (name, at, first) for key, name, at, first in found}
        for key, ((at, name), first) in named.items():
            if key not in stored:
                changed.add(org)
                break
            old_name, old_at, old_first = stored[key]
            wins = at > old_at or (at == old_at and (name or "") > (old_name or ""))
            if (wins and (name or "") != (old_name or "")) or (
                old_first is None or first < old_first
            ):
                changed.add(org)
                break
    return changed


def apply(
    conn: Connection, entries: Entries, facts: Mapping[CatalogKey, NamedFact], now_ms: int
) -> Applied:
    """Upsert the named facts of ``entries`` (``now_ms``: the server's time)."""
    if not facts:
        return Applied(set(), set())
    changed = _changed(conn, entries, facts)
    rows = [
        {"org": org, "id": key, "name": name, "name_at": at, "first": first, "now": now_ms}
        for (org, key), ((at, name), first) in sorted(facts.items())
    ]
    conn.execute(text(_STATEMENTS[entries]), rows)
    return Applied({org for org, _ in facts}, changed)
