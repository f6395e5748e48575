"""Catalog facts from ingested events: flow, project, agent and automation names.

Facts are applied with newest-wins upserts per attribute (``name_at`` then the name,
``project_at`` then the project, ...), so the catalog does not depend on the order
events arrive in, and an attribute an event does not state is left alone
(``tallyboard.domain.catalog``). Flows first seen in events are inserted ``ENABLED``
(the column default); an agent's ``deleted`` flag is never touched, so an event cannot
bring a deleted agent back. Agents and automations go through
``storage/named_entries.py``, which also keeps their first event's time and the time
an event's name won (``updatedAt``, spec §9).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.domain.catalog import (
    FLOW_ATTRIBUTES,
    PROJECT_ATTRIBUTES,
    CatalogFacts,
    CatalogKey,
)
from tallyboard.storage import named_entries, usage_versions
from tallyboard.storage import tables as t
from tallyboard.storage.dialect import StorageDialect

__all__ = ["apply_facts", "attribute_time_column"]


def attribute_time_column(column: str) -> str:
    """The column holding the time of the fact that set ``column`` (``project_id`` ->
    ``project_at``)."""
    return f"{column.removesuffix('_id')}_at"


def _groups(attributes: Sequence[str]) -> list[tuple[str, str]]:
    return [(attribute_time_column(a), a) for a in attributes]


_PROJECT = _groups(PROJECT_ATTRIBUTES)
_FLOW = _groups(FLOW_ATTRIBUTES)


def _rows(facts: Mapping[CatalogKey, tuple[tuple[int, str | None], ...]]) -> list[tuple[Any, ...]]:
    """(org, id, at, value, at, value, ...), sorted by key (one lock order for every writer)."""
    return [(*key, *(v for stated in fact for v in stated)) for key, fact in sorted(facts.items())]


def apply_facts(
    conn: Connection, dialect: StorageDialect, facts: CatalogFacts, now_ms: int
) -> None:
    """Upsert every fact, attribute by attribute (``now_ms``: the server's time)."""
    if facts.projects:
        keys = ("org_pk", "project_id")
        dialect.upsert_newer(conn, t.projects, keys, _PROJECT, _rows(facts.projects))
    if facts.flows:
        dialect.upsert_newer(conn, t.flows, ("org_pk", "flow_id"), _FLOW, _rows(facts.flows))
    changed = {org for org, _ in facts.flows} | {org for org, _ in facts.projects}
    # What a flow listing shows changed: its reused answers must not be (decision 0010).
    usage_versions.bump(conn, dialect, usage_versions.Stream.INTEGRATIONS, changed)
    # The catalog streams are bumped last (numbers 5 and 6): one lock order.
    agents = named_entries.apply(conn, named_entries.AGENTS, facts.agents, now_ms)
    usage_versions.bump(conn, dialect, usage_versions.Stream.AI_CREDITS, agents.named)
    automations = named_entries.apply(conn, named_entries.AUTOMATIONS, facts.automations, now_ms)
    usage_versions.bump(conn, dialect, usage_versions.Stream.AUTOMATIONS, automations.named)
    # Only what the catalog shows changed: most batches only repeat known names, and a
    # prepared catalog (``stats/prepared_catalog.py``) must outlive them.
    usage_versions.bump(conn, dialect, usage_versions.Stream.AGENT_CATALOG, agents.changed)
    usage_versions.bump(
        conn, dialect, usage_versions.Stream.AUTOMATION_CATALOG, automations.changed
    )
