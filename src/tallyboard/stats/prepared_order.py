"""A listing's order straight from the prepared catalog (spec §9 orders, decision 0010).

``entry_listing.order`` sorts whatever rows it is given: on a cold listing of a few
thousand automations that means a sort key per row and two sorts on every request.
But only usage changes between two cold requests; names, statuses and times are the
catalog's and change only with it. So the catalog's order under each sort other than
usage is computed once per prepared catalog (``Prepared.orders``, with which rows
each filter keeps) and a listing walks it, taking each entry's usage as it goes; a
usage sort sorts one integer per listed entry (usage and catalog position folded).
An entry known only from usage (no catalog row) is rare: its listing falls back to
``merged`` and ``order``, which give the same answer.

The listing is kept as those integers, not as rows: an item (position, row, usage)
is built when it is read -- a page, a cursor's search -- and dropped after. A cold
listing thus leaves nothing for the garbage collector to trace: thousands of live
tuples per request made CPython's young collections promote them and set off full
passes over every cache, the tail of the cold listing's latency.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, overload

from tallyboard.stats.entry_listing import (
    EntryFilter,
    EntryRow,
    EntrySort,
    Keyed,
    SortField,
    SortKey,
    order,
)
from tallyboard.stats.prepared_catalog import Prepared, merged

__all__ = ["ordered"]

_NO_FILTER = EntryFilter(None)
MEMOS = 64
"""Orders and filter results kept per prepared catalog."""
Position = tuple[SortKey, str]
"""A row's place in an order: its sort key and its id."""


def ordered(
    prepared: Prepared, used: Mapping[str, int], entry_filter: EntryFilter, sort: EntrySort
) -> tuple[Sequence[Keyed], int]:
    """The listing's matching items in order, as ``order(merged(prepared, used), ...)``
    gives them, and the sum of their usage."""
    if not prepared.index.keys() >= used.keys():
        items = order(merged(prepared, used), entry_filter, sort)
        return items, sum(item[2] for item in items)
    if sort.field is SortField.USAGE:
        return _by_usage(prepared, used, entry_filter, sort.descending)
    return _by_catalog(prepared, used, entry_filter, sort)


class _Lazy(Sequence[Keyed]):
    """Items encoded as integers, built when read."""

    __slots__ = ("_codes",)

    def __init__(self, codes: list[int]) -> None:
        self._codes = codes

    def __len__(self) -> int:
        return len(self._codes)

    @overload
    def __getitem__(self, at: int) -> Keyed: ...

    @overload
    def __getitem__(self, at: slice) -> Sequence[Keyed]: ...

    def __getitem__(self, at: int | slice) -> Keyed | Sequence[Keyed]:
        if isinstance(at, slice):
            return [self._item(code) for code in self._codes[at]]
        return self._item(self._codes[at])

    def _item(self, code: int) -> Keyed:
        raise NotImplementedError


class _UsageOrder(_Lazy):
    """``usage x entries + position`` per item (usage negated when descending)."""

    __slots__ = ("_rows", "_sign", "_size")

    def __init__(self, codes: list[int], rows: Sequence[EntryRow], sign: int) -> None:
        super().__init__(codes)
        self._rows, self._sign, self._size = rows, sign, max(len(rows), 1)

    def _item(self, code: int) -> Keyed:
        folded, at = divmod(code, self._size)
        usage, row = self._sign * folded, self._rows[at]
        return (((0, usage), row.id), row, usage)


class _CatalogOrder(_Lazy):
    """An index into the catalog's order per item; usage looked up when read."""

    __slots__ = ("_order", "_rows", "_used")

    def __init__(
        self,
        codes: list[int],
        rows: Sequence[EntryRow],
        catalog_order: Sequence[tuple[Position, int]],
        used: Mapping[str, int],
    ) -> None:
        super().__init__(codes)
        self._rows, self._order, self._used = rows, catalog_order, used

    def _item(self, code: int) -> Keyed:
        position, at = self._order[code]
        return (position, self._rows[at], self._used.get(position[1], 0))


def _memo(prepared: Prepared, key: Hashable, build: Callable[[], Any]) -> Any:
    """What ``build`` gives for this catalog, kept with it (at most ``MEMOS`` of them:
    past that, the oldest goes -- filters are the callers' and could be many)."""
    memos = prepared.orders
    found = memos.get(key)
    if found is None:
        while len(memos) >= MEMOS:
            memos.pop(next(iter(memos)), None)
        found = memos[key] = build()
    return found


def _matching(prepared: Prepared, entry_filter: EntryFilter) -> tuple[bool, ...] | None:
    """Per catalog row, whether the filter keeps it (None: no filter, all are kept)."""
    if entry_filter == _NO_FILTER:
        return None
    matches = entry_filter.matches
    result: tuple[bool, ...] = _memo(
        prepared, entry_filter, lambda: tuple(matches(row) for row in prepared.rows)
    )
    return result


def _by_usage(
    prepared: Prepared, used: Mapping[str, int], entry_filter: EntryFilter, descending: bool
) -> tuple[Sequence[Keyed], int]:
    """Usage then id. The catalog is in id order, so an entry's position stands for its
    id, and ``usage x entries + position`` (usage negated when descending) sorts as
    the listing does: by usage in the asked direction, ties by id ascending."""
    rows, deleted, get = prepared.rows, prepared.deleted, used.get
    kept = _matching(prepared, entry_filter)
    size, sign = max(len(rows), 1), -1 if descending else 1
    codes, total = [], 0
    for at, row in enumerate(rows):
        usage = get(row.id, 0)
        # As ``merged`` lists them: with usage above 0, or not deleted.
        if (usage > 0 or not deleted[at]) and (kept is None or kept[at]):
            codes.append(sign * usage * size + at)
            total += usage
    codes.sort()
    return _UsageOrder(codes, rows, sign), total


def _by_catalog(
    prepared: Prepared, used: Mapping[str, int], entry_filter: EntryFilter, sort: EntrySort
) -> tuple[Sequence[Keyed], int]:
    """A sort on the catalog's own fields: the matching entries in that order, computed
    once per catalog, filter and sort, with the usage."""

    def build() -> tuple[tuple[Position, int], ...]:
        at = prepared.index
        return tuple((key, at[key[1]]) for key, _, _ in order(prepared.rows, entry_filter, sort))

    catalog_order: tuple[tuple[Position, int], ...] = _memo(prepared, (sort, entry_filter), build)
    deleted, get = prepared.deleted, used.get
    codes, total = [], 0
    for code, (position, at) in enumerate(catalog_order):
        usage = get(position[1], 0)
        if usage > 0 or not deleted[at]:  # as ``merged`` lists them
            codes.append(code)
            total += usage
    return _CatalogOrder(codes, prepared.rows, catalog_order, used), total
