"""An organization's automations or agents, prepared once per catalog change (decision 0010).

A cold listing (the request right after the organization's usage changed) used to read
and rebuild every catalog entry -- the rows, the pipes, the creators' names, the tags'
JSON, ``availableFilters`` -- although usage had changed, not the catalog. The prepared
catalog is all of that, built under the catalog's own stamp: the organization's
catalog version of the kind (``storage/usage_versions.py`` ``AGENT_CATALOG`` /
``AUTOMATION_CATALOG``, raised only when an event inserts an entry, wins with another
name or moves the first event earlier) and the tenancy generation (every ``admin
apply``: documents, deletions, pipes, users). Usage changes leave it alone, so a cold
listing costs the stamp check, the usage read and the merge below.

This is not answer reuse (``TALLYBOARD_ANSWER_REUSE=false`` leaves it on): it keeps no
figure, only what the catalog says, and the stamp is read in the same snapshot as the
usage, so an answer built on it is the one a full read would build.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from tallyboard.cache.bounded import BoundedCache
from tallyboard.stats.entry_listing import EntryRow, with_usage
from tallyboard.storage import usage_entry_reader as reader
from tallyboard.storage import usage_versions
from tallyboard.storage.usage_entry_reader import EntryKind

if TYPE_CHECKING:
    from tallyboard.stats.usage_details import AvailableFilters

__all__ = ["Prepared", "PreparedCatalogs", "merged", "used_rows"]

_STREAMS = {
    EntryKind.AUTOMATIONS: usage_versions.Stream.AUTOMATION_CATALOG,
    EntryKind.AGENTS: usage_versions.Stream.AGENT_CATALOG,
}
_ENTRIES = 1024
"""Prepared catalogs kept per process."""
_ROWS = 500_000
"""Entries kept across them."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """Every catalog entry as a row with usage 0, by id; ``deleted`` beside each."""

    rows: tuple[EntryRow, ...]
    deleted: tuple[bool, ...]
    index: dict[str, int]
    """id -> position in ``rows`` (never changed once built)."""
    available: AvailableFilters
    orders: dict[Hashable, Any] = field(default_factory=dict)
    """What ``stats/prepared_order.py`` derives from the catalog alone, built on first
    use: per filter, which rows it keeps; per sort on the catalog's own fields and
    filter, the kept rows' positions in that order with their keys. None of it depends
    on usage, so it holds for every listing of this catalog."""
    last_rows: dict[str, EntryRow] = field(default_factory=dict)
    """Each entry's row with the usage it last had: between two cold requests usage
    changes for a few entries, so the others' rows are not built again (a row is
    immutable and carries its usage, so a reused one is exact; racing writers only
    store equal rows)."""


def merged(prepared: Prepared, used: Mapping[str, int]) -> list[EntryRow]:
    """The listing's rows: every entry with its usage, a deleted one only when it has
    usage, and an entry known only from usage by its id (``entry_row`` builds each)."""
    get = used.get
    last = prepared.last_rows
    rows: list[EntryRow] = []
    for row, deleted in zip(prepared.rows, prepared.deleted, strict=True):
        usage = get(row.id, 0)
        if usage:
            if deleted and usage < 0:
                continue
            known = last.get(row.id)
            if known is None or known.usage != usage:
                known = last[row.id] = with_usage(row, usage)
            rows.append(known)
        elif not deleted:
            rows.append(row)
    unknown = [entry for entry in used if entry not in prepared.index]
    if unknown:
        rows.extend(_bare(entry, used[entry]) for entry in unknown)
        rows.sort(key=_id)
    return rows


def used_rows(prepared: Prepared, used: Mapping[str, int]) -> list[EntryRow]:
    """Only the entries with usage > 0, by id (what the combined listing keeps): as
    ``merged`` gives them, without walking the entries that did not run."""
    index = prepared.index
    last = prepared.last_rows
    rows: list[EntryRow] = []
    for entry, usage in used.items():
        if usage <= 0:
            continue
        known = last.get(entry)
        if known is None or known.usage != usage:
            at = index.get(entry)
            known = _bare(entry, usage) if at is None else with_usage(prepared.rows[at], usage)
            last[entry] = known
        rows.append(known)
    rows.sort(key=_id)
    return rows


def _id(row: EntryRow) -> str:
    return row.id


def _bare(entry: str, usage: int) -> EntryRow:
    """An entry without a catalog row (never deleted, so named by its id either kind)."""
    return EntryRow(entry, entry, usage, None, None, "active", None, None, None, None, None, ())


Build = Callable[[EntryKind, dict[str, dict[str, Any]], reader.PipesById, dict[str, str]], Prepared]
"""What prepares a catalog from its rows, its pipes and its creators' names."""


class PreparedCatalogs:
    """The last prepared catalog per (organization, kind), under its catalog stamp."""

    def __init__(self, build: Build) -> None:
        self._build = build
        self._cache: BoundedCache[tuple[int, EntryKind], Prepared] = BoundedCache(_ENTRIES, _ROWS)

    def get(self, conn: Connection, org_pk: int, kind: EntryKind) -> Prepared:
        stamp = usage_versions.stamp(conn, org_pk, _STREAMS[kind])
        key = (org_pk, kind)
        prepared = self._cache.get_current(key, stamp)
        if prepared is None:
            entries = reader.catalog(conn, kind, org_pk)
            pipes = reader.pipes_of(conn, org_pk)
            emails = {e["created_by"] for e in entries.values() if e["created_by"]}
            names = reader.creator_names(conn, emails)
            prepared = self._build(kind, entries, pipes, names)
            self._cache.put_current(key, stamp, prepared, len(prepared.rows) + 1)
        return prepared

    def get_many(
        self, conn: Connection, org_pks: Sequence[int], kind: EntryKind
    ) -> dict[int, Prepared]:
        """:meth:`get` of every organization, their stamps read in one statement (a
        combined miss of 25 organizations made 25 round trips for them); a catalog that
        changed is prepared again by :meth:`get`, under the stamp it reads itself."""
        stamps = usage_versions.stamps(conn, org_pks, _STREAMS[kind])
        found: dict[int, Prepared] = {}
        for org_pk in org_pks:
            prepared = self._cache.get_current((org_pk, kind), stamps[org_pk])
            found[org_pk] = self.get(conn, org_pk, kind) if prepared is None else prepared
        return found
