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

Single-organization: never cached (an acknowledged event is visible at once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from tallyboard.domain.organization import OrgRef
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.cursor import PagePosition
from tallyboard.stats.entry_listing import EntryRow, Keyed, Pipe, Slice, cut, order, sort_key
from tallyboard.stats.usage_details_input import (
    DayRange,
    PageInput,
    UsageDetailsInput,
    encode_key,
)
from tallyboard.storage import usage_entry_reader as reader
from tallyboard.storage.database import Database
from tallyboard.storage.usage_entry_reader import EntryKind

__all__ = [
    "AvailableFilters",
    "EntryKind",
    "UsageDetails",
    "UsageDetailsStatistics",
    "UsagePage",
    "entry_rows",
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
    ordered: tuple[Keyed, ...]
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


class UsageDetailsStatistics:
    def __init__(self, database: Database, positions: PagePosition, metrics: Metrics) -> None:
        self._db = database
        self._positions = positions
        self._metrics = metrics

    def details(
        self, org: OrgRef, kind: EntryKind, request: UsageDetailsInput, *, label: str
    ) -> UsageDetails:
        days = request.days
        with self._db.read() as conn:
            entries = reader.catalog(conn, kind, org.pk)
            used = reader.usage(conn, kind, org.pk, days.first.isoformat(), days.last.isoformat())
            pipes = reader.pipes_of(conn, org.pk)
            emails = {e["created_by"] for e in entries.values() if e["created_by"]}
            names = reader.creator_names(conn, emails)
        rows = entry_rows(kind, entries, used, pipes, names)
        ordered = tuple(order(rows, request.entry_filter, request.sort))
        self._metrics.stats_queries.labels(label).inc()
        usage = sum(row.usage for _, row in ordered)
        return UsageDetails(days, ordered, usage, _available(entries, pipes), request)

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


def entry_rows(
    kind: EntryKind,
    entries: Mapping[str, Mapping[str, Any]],
    used: Mapping[str, int],
    pipes: _Pipes,
    names: Mapping[str, str],
) -> list[EntryRow]:
    rows = []
    for entry_id in sorted(set(entries) | set(used)):
        entry = entries.get(entry_id, {})
        usage = used.get(entry_id, 0)
        deleted = bool(entry.get("deleted"))
        if deleted and usage <= 0:
            continue
        name = entry.get("name") or entry_id
        if deleted and kind is EntryKind.AGENTS:
            name = None
        email = str(entry.get("created_by") or "")
        rows.append(
            EntryRow(
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
        )
    return rows


def _by_name(pipe: tuple[str, str]) -> tuple[str, str]:
    return pipe[1], pipe[0]


def _available(entries: Mapping[str, Mapping[str, Any]], pipes: _Pipes) -> AvailableFilters:
    live = [e for e in entries.values() if not e["deleted"]]

    def distinct(column: str) -> tuple[str, ...]:
        return tuple(sorted({e[column] for e in live if e[column] is not None}))

    referenced = {p for e in live for p in (e["action_pipe"], e["event_pipe"]) if p in pipes}
    return AvailableFilters(
        action=distinct("action"),
        event=distinct("event"),
        pipes=tuple(
            sorted(((pipes[p][0], pipes[p][1]) for p in referenced), key=lambda x: (x[1], x[0]))
        ),
        status=distinct("status"),
        tags=tuple(sorted({tag for e in live for tag in orjson.loads(e["tags"] or "[]")})),
    )
