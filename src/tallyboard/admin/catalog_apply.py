"""Writing an organization's catalog entries from the tenancy document (spec §6, §9).

The settled rule for every entry (flows, projects, agents, pipes, automations):
applying an entry whose fields are unchanged changes nothing -- not even a name an
event set since. So each row keeps the canonical JSON of what the document last stated
(``applied``); an entry equal to it is skipped, and otherwise only the fields that
differ from it are written, each stated attribute as a fact at the time of this apply
(its ``<attribute>_at``, newest wins against event names: ``domain/catalog.py``). A row
never applied before (created by events, or before this rule) is compared with its
stored values instead.

Agents and automations also get ``updated_at`` (the apply's time, when anything was
written) and ``created_at`` (the document's ``createdAt``, else the time they were
first applied); pipes get a uuid (the document's, else a new one) when created.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import Counter
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from tallyboard.admin.catalog_document import Agent, Automation, Pipe, UsageEntry
from tallyboard.storage import catalog_entry_store as store
from tallyboard.storage.catalog_columns import APPLIED
from tallyboard.storage.catalog_store import attribute_time_column

__all__ = ["CatalogWriter"]

_STATED = {
    "flows": ("name", "project_id"),
    "projects": ("name", "icon", "color"),
    "agents": ("name",),
    "automations": ("name",),
    "pipes": (),
}
"""Attributes ranked by the time of the fact that set them, per table."""
_DESCRIBED = frozenset({"agents", "automations"})
_ABSENT = object()


def _stamp(values: dict[str, Any]) -> str:
    return orjson.dumps(values, option=orjson.OPT_SORT_KEYS).decode()


class CatalogWriter:
    """One application's catalog writes; counts what it wrote into ``changes``."""

    def __init__(self, conn: Connection, now_ms: int, changes: Counter[str]) -> None:
        self.conn = conn
        self.now_ms = now_ms
        self.changes = changes

    def usage_entries(
        self,
        org_pk: int,
        agents: list[Agent] | None,
        pipes: list[Pipe] | None,
        automations: list[Automation] | None,
    ) -> None:
        """An organization's agents, pipes and automations (each list only upserted)."""
        if pipes:
            current = store.entry_rows(self.conn, "pipes", org_pk)
            for pipe in pipes:
                values = {"name": pipe.name, "icon": pipe.icon, "color": pipe.color}
                created = {"uuid": pipe.uuid or str(uuidlib.uuid4()), "created_at": self.now_ms}
                self.upsert("pipes", org_pk, pipe.id, values, current, created)
        for table, entries in (("agents", agents), ("automations", automations)):
            if entries:
                current = store.entry_rows(self.conn, table, org_pk)
                for entry in entries:
                    self.upsert(table, org_pk, entry.id, _values(entry), current)

    def upsert(
        self,
        table: str,
        org_pk: int,
        key: str,
        values: dict[str, Any],
        current: dict[str, Any],
        on_create: dict[str, Any] | None = None,
    ) -> None:
        """Write ``values`` (what the document states) by the rule of the module."""
        row = current.get(key)
        stamp = _stamp(values)
        if row is not None and row.get(APPLIED) == stamp:
            return
        if row is None:
            write = {**values, **(on_create or {})}
        else:
            last = orjson.loads(row[APPLIED]) if row.get(APPLIED) else row
            write = {k: v for k, v in values.items() if last.get(k, _ABSENT) != v}
        extra: dict[str, Any] = {APPLIED: stamp}
        extra.update({attribute_time_column(c): self.now_ms for c in _STATED[table] if c in write})
        if table in _DESCRIBED and (write or row is None):
            extra["updated_at"] = self.now_ms
            never_applied = row is None or not row.get(APPLIED)
            if never_applied and "created_at" not in values:
                extra["created_at"] = self.now_ms
        store.upsert(self.conn, table, org_pk, key, {**write, **extra}, exists=row is not None)
        current[key] = {**(row or {}), **write, **extra}
        if write:
            self.changes[f"{table} written"] += 1


def _values(entry: UsageEntry) -> dict[str, Any]:
    values = entry.stated()
    name = getattr(entry, "name", None)
    if name is not None:
        values["name"] = name
    return values
