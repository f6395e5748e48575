"""``automationsUsageDetails`` and ``agentsUsageDetails`` (spec §9): one service, two kinds.

The organization's catalog and its usage over the day range are read in one read
transaction (``storage/usage_entry_reader.py``), turned into rows by the rules below,
then filtered, ordered and cut by ``stats/entry_listing.py``:

- every entry known from the catalog or from events is listed, with usage 0 when it
  did not run; a deleted one only when it has usage in the range;
- an entry never named is shown by its id; a deleted agent's name is null (a deleted
  automation keeps its name);
- ``createdAt`` is what the document states (or its first apply), else the first
  event's time; ``updatedAt`` when the entry last changed (null if never recorded);
- ``availableFilters`` come from every entry that is not deleted, whatever the range,
  search and filters.

Answers are reused exactly, never with a time to live (decision 0010): the rows of an
organization's listing over a day range, and each ordered answer (rows, search,
filters and sort), are kept under the organization's usage stamp of the kind
(``storage/usage_versions.py``: the automation-jobs or AI-credits version, raised in
every transaction that changes those rollups or the names events bring -- ingestion,
corrections, a repair -- and the tenancy generation, raised by every ``admin apply``,
which covers the catalog, pipes and users). The stamp is read in the same snapshot as
the rows, so an acknowledged event is visible to the very next request of every
process. ``final`` is not part of the answer: the query layer reads it afresh
(``stats/finality.py``). Authorization comes first, and the answer depends on no
principal, so the keys hold none.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import orjson
from sqlalchemy.engine import Connection

from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.organization import OrgRef
from tallyboard.observability.metrics import Metrics
from tallyboard.stats import prepared_order
from tallyboard.stats.cursor import PagePosition
from tallyboard.stats.entry_listing import (
    EntryFilter,
    EntryRow,
    EntrySort,
    Keyed,
    Pipe,
    Slice,
    cut,
    sort_key,
)
from tallyboard.stats.prepared_catalog import Prepared, PreparedCatalogs
from tallyboard.stats.usage_details_input import (
    DayRange,
    PageInput,
    UsageDetailsInput,
    encode_key,
)
from tallyboard.storage import usage_entry_reader as reader
from tallyboard.storage import usage_versions
from tallyboard.storage.database import Database
from tallyboard.storage.usage_entry_reader import EntryKind

__all__ = [
    "AvailableFilters",
    "EntryKind",
    "UsageDetails",
    "UsageDetailsStatistics",
    "UsagePage",
    "entry_row",
    "prepare",
]


@dataclass(frozen=True, slots=True)
class AvailableFilters:
    action: tuple[str, ...]
    event: tuple[str, ...]
    pipes: tuple[tuple[str, str], ...]
    """(uuid, name), by name then uuid."""
    status: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class UsageDetails:
    """Every matching entry in order; ``usage`` and ``total_count`` cover all of them."""

    days: DayRange
    ordered: Sequence[Keyed]
    """Built item by item when read (``stats/prepared_order.py``)."""
    usage: int
    available: AvailableFilters
    request: UsageDetailsInput

    @property
    def total_count(self) -> int:
        return len(self.ordered)


@dataclass(frozen=True, slots=True)
class UsagePage:
    page: Slice
    cursors: tuple[str, ...]


def creator_id(email: str) -> str:
    """A stable, opaque id of a user (the e-mail is not shown)."""
    return hashlib.sha256(b"creator\x00" + email.encode()).hexdigest()[:20]


_ROWS = 200_000
"""Rows kept across remembered listings, and across remembered answers, per process."""
_ENTRIES = 4096
"""Remembered listings (and answers) per process, whatever their size."""
_STREAMS = {
    EntryKind.AUTOMATIONS: usage_versions.Stream.AUTOMATIONS,
    EntryKind.AGENTS: usage_versions.Stream.AI_CREDITS,
}

_ListingKey = tuple[int, EntryKind, date, date]
"""(organization pk, kind, first day, last day)."""
_AnswerKey = tuple[int, EntryKind, date, date, EntryFilter, EntrySort]
"""A listing's key and what orders it: every argument the cursors are bound to."""


@dataclass(frozen=True, slots=True)
class _Listing:
    """Every entry of an organization over a day range, before search and filters: the
    prepared catalog and the usage per entry (``stats/prepared_order.py`` orders them)."""

    prepared: Prepared
    used: dict[str, int]

    @property
    def weight(self) -> int:
        return len(self.prepared.rows) + len(self.used) + 1


class UsageDetailsStatistics:
    def __init__(
        self,
        database: Database,
        positions: PagePosition,
        metrics: Metrics,
        *,
        reuse_answers: bool = True,
        catalogs: PreparedCatalogs | None = None,
    ) -> None:
        self._db = database
        self._positions = positions
        self._metrics = metrics
        entries = _ENTRIES if reuse_answers else 0
        self._listings: BoundedCache[_ListingKey, _Listing] = BoundedCache(entries, _ROWS)
        """The last listing per (organization, kind, days), under its usage stamp."""
        self._answers: BoundedCache[_AnswerKey, UsageDetails] = BoundedCache(entries, _ROWS)
        """The last ordered answer per listing key, search, filters and sort."""
        self._catalogs = PreparedCatalogs(prepare) if catalogs is None else catalogs
        """Kept whether answers are reused or not: catalog only, no figure."""

    def details(
        self, org: OrgRef, kind: EntryKind, request: UsageDetailsInput, *, label: str
    ) -> UsageDetails:
        days = request.days
        listing_key: _ListingKey = (org.pk, kind, days.first, days.last)
        answer_key: _AnswerKey = (*listing_key, request.entry_filter, request.sort)
        self._metrics.stats_queries.labels(label).inc()
        with self._db.read() as conn:
            stamp = usage_versions.stamp(conn, org.pk, _STREAMS[kind])
            answer = self._answers.get_current(answer_key, stamp)
            if answer is not None:
                # Equal keys, equal cursor bindings; the request is this one all the same.
                return replace(answer, request=request)
            listing = self._listings.get_current(listing_key, stamp)
            if listing is None:
                listing = self._read(conn, kind, org, days)
                self._listings.put_current(listing_key, stamp, listing, listing.weight)
        ordered, usage = prepared_order.ordered(
            listing.prepared, listing.used, request.entry_filter, request.sort
        )
        answer = UsageDetails(days, ordered, usage, listing.prepared.available, request)
        self._answers.put_current(answer_key, stamp, answer, len(ordered) + 1)
        return answer

    def _read(self, conn: Connection, kind: EntryKind, org: OrgRef, days: DayRange) -> _Listing:
        """The prepared catalog and the usage over the days: one snapshot."""
        prepared = self._catalogs.get(conn, org.pk, kind)
        first, last = days.first.isoformat(), days.last.isoformat()
        return _Listing(prepared, reader.usage(conn, kind, org.pk, first, last))

    def page(self, details: UsageDetails, request: PageInput) -> UsagePage:
        """One page of a listing (``request`` is already validated against it)."""
        sort = details.request.sort
        page = cut(details.ordered, sort, request.first, request.after)
        binding = details.request.binding
        cursors = tuple(
            self._positions.encode(binding, encode_key(sort_key(sort, r)), r.id) for r in page.rows
        )
        return UsagePage(page, cursors)


_Pipes = Mapping[str, tuple[str, str, str | None, str | None]]


def _pipe(pipes: _Pipes, pipe_id: str | None) -> Pipe | None:
    found = pipes.get(pipe_id) if pipe_id is not None else None
    return None if found is None else Pipe(*found)


def entry_row(
    kind: EntryKind,
    entry_id: str,
    entry: Mapping[str, Any],
    usage: int,
    pipes: _Pipes,
    names: Mapping[str, str],
) -> EntryRow:
    """One entry as the listing shows it (whether it is listed at all: ``merged``)."""
    name = entry.get("name") or entry_id
    if entry.get("deleted") and kind is EntryKind.AGENTS:
        name = None
    email = str(entry.get("created_by") or "")
    return EntryRow(
        id=entry_id,
        name=name,
        usage=usage,
        action=entry.get("action"),
        event=entry.get("event"),
        status=entry.get("status") or "active",
        action_pipe=_pipe(pipes, entry.get("action_pipe")),
        event_pipe=_pipe(pipes, entry.get("event_pipe")),
        created_at=entry.get("created_at") or entry.get("first_event_at"),
        created_by=(creator_id(email), names[email]) if email in names else None,
        updated_at=entry.get("updated_at") or None,
        tags=tuple(orjson.loads(entry.get("tags") or "[]")),
    )


def prepare(
    kind: EntryKind,
    entries: Mapping[str, Mapping[str, Any]],
    pipes: _Pipes,
    names: Mapping[str, str],
) -> Prepared:
    """Every catalog entry as a row of usage 0 (``stats/prepared_catalog.py``)."""
    ids = sorted(entries)
    rows = tuple(entry_row(kind, i, entries[i], 0, pipes, names) for i in ids)
    deleted = tuple(bool(entries[i].get("deleted")) for i in ids)
    index = {entry: at for at, entry in enumerate(ids)}
    return Prepared(rows, deleted, index, _available(entries, pipes))


def _pipe_order(pipe: tuple[str, str]) -> tuple[str, str]:
    """Pipes are names: casefolded, ties by uuid (§9 settled: names sort case-insensitively)."""
    return pipe[1].casefold(), pipe[0]


def _available(entries: Mapping[str, Mapping[str, Any]], pipes: _Pipes) -> AvailableFilters:
    live = [e for e in entries.values() if not e["deleted"]]

    def distinct(column: str) -> tuple[str, ...]:
        return tuple(sorted({e[column] for e in live if e[column] is not None}))

    referenced = {p for e in live for p in (e["action_pipe"], e["event_pipe"]) if p in pipes}
    return AvailableFilters(
        action=distinct("action"),
        event=distinct("event"),
        pipes=tuple(sorted(((pipes[p][0], pipes[p][1]) for p in referenced), key=_pipe_order)),
        status=distinct("status"),
        tags=tuple(sorted({tag for e in live for tag in orjson.loads(e["tags"] or "[]")})),
    )
