"""Catalog facts from ingested events: flow, project and agent names.

Facts are applied with newest-wins upserts (``name_at``, then the values), so the
catalog does not depend on the order events arrive in (``tallyboard.domain.catalog``).
Flows first seen in events are inserted ``ENABLED`` (the column default); an agent's
``deleted`` flag is never touched, so an event cannot bring a deleted agent back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.domain.catalog import CatalogFacts
from tallyboard.storage import tables as t
from tallyboard.storage import usage_versions
from tallyboard.storage.dialect import StorageDialect

__all__ = ["apply_facts"]


_PROJECT = ("name_at", "name", "icon", "color")
_FLOW = ("name_at", "name", "project_id")
_AGENT = ("name_at", "name")


def apply_facts(conn: Connection, dialect: StorageDialect, facts: CatalogFacts) -> None:
    """Upsert every fact; rows are sorted by key (one lock order for every writer)."""
    if facts.projects:
        rows: list[tuple[Any, ...]] = [(*k, *f) for k, f in sorted(facts.projects.items())]
        dialect.upsert_newer(conn, t.projects, ("org_pk", "project_id"), _PROJECT, _PROJECT, rows)
    if facts.flows:
        rows = [(*k, *f) for k, f in sorted(facts.flows.items())]
        dialect.upsert_newer(conn, t.flows, ("org_pk", "flow_id"), _FLOW, _FLOW, rows)
    changed = {org for org, _ in facts.flows} | {org for org, _ in facts.projects}
    # What a flow listing shows changed: its reused answers must not be (decision 0010).
    usage_versions.bump(conn, dialect, usage_versions.Stream.INTEGRATIONS, changed)
    if facts.agents:
        rows = [(*k, *f) for k, f in sorted(facts.agents.items())]
        dialect.upsert_newer(conn, t.agents, ("org_pk", "agent_id"), _AGENT, _AGENT, rows)
