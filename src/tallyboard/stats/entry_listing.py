"""Filtering, ordering and keyset pages of an organization's automations or agents (pure).

The rules of spec §9, in one place for both listings:

- ``search``: case-insensitive (Unicode casefold) substring of the name; a null name
  never matches. ``filters``: each list holds alternatives, lists combine with AND, an
  empty list filters nothing; ``status`` compares case-insensitively, ``action``,
  ``event``, ``pipe`` (the action or the event pipe's uuid) and ``tags`` exactly.
- Order: ``name`` (casefolded), ``usage``, ``status``, ``createdAt``, ``updatedAt``;
  null values sort last in either direction; ties by id ascending, so the order is
  total and a cursor (the last row's sort key and id) resumes exactly after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "EntryFilter",
    "EntryRow",
    "EntrySort",
    "Keyed",
    "Pipe",
    "Slice",
    "SortField",
    "SortKey",
    "cut",
    "order",
    "shown",
    "sort_key",
    "with_usage",
]


class SortField(StrEnum):
    NAME = "name"
    USAGE = "usage"
    STATUS = "status"
    CREATED_AT = "createdat"
    UPDATED_AT = "updatedat"


@dataclass(frozen=True, slots=True)
class Pipe:
    uuid: str
    name: str
    icon: str | None
    color: str | None


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One automation or agent as the listing shows it."""

    id: str
    name: str | None
    usage: int
    """Jobs, or micro-credits for agents."""
    action: str | None
    event: str | None
    status: str
    action_pipe: Pipe | None
    event_pipe: Pipe | None
    created_at: int | None
    """Epoch ms."""
    created_by: tuple[str, str] | None
    """(opaque user id, user name)."""
    updated_at: int | None
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryFilter:
    search: str | None
    """Casefolded, or None."""
    action: frozenset[str] = frozenset()
    event: frozenset[str] = frozenset()
    pipe: frozenset[str] = frozenset()
    status: frozenset[str] = frozenset()
    """Casefolded."""
    tags: frozenset[str] = frozenset()

    def matches(self, row: EntryRow) -> bool:
        if self.search is not None and (row.name is None or self.search not in row.name.casefold()):
            return False
        if self.action and row.action not in self.action:
            return False
        if self.event and row.event not in self.event:
            return False
        if self.status and row.status.casefold() not in self.status:
            return False
        if self.tags and not self.tags.intersection(row.tags):
            return False
        if self.pipe:
            pipes = {p.uuid for p in (row.action_pipe, row.event_pipe) if p is not None}
            if not self.pipe.intersection(pipes):
                return False
        return True


@dataclass(frozen=True, slots=True)
class EntrySort:
    field: SortField
    descending: bool


SortKey = tuple[int, int | str]
"""(1 when the value is null, else 0; the value): nulls last in either direction."""


def sort_key(sort: EntrySort, row: EntryRow) -> SortKey:
    field = sort.field
    if field is SortField.USAGE:
        return (0, row.usage)
    if field is SortField.STATUS:
        return (0, row.status)
    if field is SortField.NAME:
        return (1, "") if row.name is None else (0, row.name.casefold())
    value = row.created_at if field is SortField.CREATED_AT else row.updated_at
    return (1, 0) if value is None else (0, value)


def _compare(sort: EntrySort, a: tuple[SortKey, str], b: tuple[SortKey, str]) -> int:
    (a_null, a_value), a_id = a
    (b_null, b_value), b_id = b
    if a_null != b_null:
        return a_null - b_null
    if a_value != b_value:
        order = 1 if a_value > b_value else -1  # type: ignore[operator]
        return -order if sort.descending else order
    return (a_id > b_id) - (a_id < b_id)


Keyed = tuple[tuple[SortKey, str], EntryRow, int]
"""A row with its position in the order -- (sort key, id) -- and its usage. The row
may carry another usage (a prepared catalog's rows carry 0, ``stats/prepared_order.py``):
the usage beside it is the one shown, and only a page's rows are built with it
(``cut``), not every row of a listing."""


def _value(item: Keyed) -> int | str:
    return item[0][0][1]


def order(rows: Sequence[EntryRow], entry_filter: EntryFilter, sort: EntrySort) -> list[Keyed]:
    """The rows that match, in the listing's order (``_compare``'s, with key sorts: the
    rows stable-sorted by id, then by value, reversed when descending -- Python's sort
    keeps ties in order either way -- and the nulls last, by id)."""
    matching = rows if entry_filter == _NO_FILTER else [r for r in rows if entry_filter.matches(r)]
    present: list[Keyed] = []
    nulls: list[Keyed] = []
    for row in matching:
        key = sort_key(sort, row)
        (nulls if key[0] else present).append(((key, row.id), row, row.usage))
    present.sort(key=_id_of)
    present.sort(key=_value, reverse=sort.descending)
    nulls.sort(key=_id_of)
    present.extend(nulls)
    return present


def _id_of(item: Keyed) -> str:
    return item[0][1]


_NO_FILTER = EntryFilter(None)


@dataclass(frozen=True, slots=True)
class Slice:
    rows: tuple[EntryRow, ...]
    has_next: bool
    has_previous: bool


def with_usage(row: EntryRow, usage: int) -> EntryRow:
    return EntryRow(
        row.id,
        row.name,
        usage,
        row.action,
        row.event,
        row.status,
        row.action_pipe,
        row.event_pipe,
        row.created_at,
        row.created_by,
        row.updated_at,
        row.tags,
    )


def shown(item: Keyed) -> EntryRow:
    """The row as the listing shows it: with its usage."""
    _, row, usage = item
    return row if row.usage == usage else with_usage(row, usage)


def cut(
    ordered: Sequence[Keyed], sort: EntrySort, first: int, after: tuple[SortKey, str] | None
) -> Slice:
    """The page of ``first`` rows strictly after ``after`` (a row's sort key and id)."""
    start = 0
    if after is not None:
        while start < len(ordered) and _compare(sort, ordered[start][0], after) <= 0:
            start += 1
    page = tuple(shown(item) for item in ordered[start : start + first])
    return Slice(rows=page, has_next=start + first < len(ordered), has_previous=start > 0)
