"""A listing's order straight from the prepared catalog (spec §9 orders, decision 0010).

``entry_listing.order`` sorts whatever rows it is given: on a cold listing of a few
thousand automations that means a sort key per row and two sorts on every request.
But only usage changes between two cold requests; names, statuses and times are the
catalog's and change only with it. So the catalog's order under each sort other than
usage is computed once per prepared catalog (``Prepared.orders``) and a listing
walks it, taking each entry's usage as it goes; sorted by usage, only the entries
that have usage are sorted (by id, then by usage: the same stable sorts as
``order``), and the others keep the catalog's id order, between the positive and
the negative figures. An entry known only from usage (no catalog row) is rare: its
listing falls back to ``merged`` and ``order``, which give the same answer.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import repeat
from typing import Any

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
) -> list[Keyed]:
    """The listing's matching rows in order, as ``order(merged(prepared, used), ...)``."""
    if not prepared.index.keys() >= used.keys():
        return order(merged(prepared, used), entry_filter, sort)
    if sort.field is SortField.USAGE:
        return _by_usage(prepared, used, entry_filter, sort.descending)
    return _by_catalog(prepared, used, entry_filter, sort)


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
) -> list[Keyed]:
    """Usage then id: the entries with usage sorted, the rest in the catalog's id order.

    The catalog is in id order, so an entry's position stands for its id, and usage and
    position fold into one integer per entry (``usage x entries + position``, usage
    negated when descending): a plain sort of integers gives usage in the asked order,
    ties by id ascending, and every key below 0 is a figure listed before the entries
    without usage, every key above, one listed after them.
    """
    index, deleted, rows = prepared.index, prepared.deleted, prepared.rows
    kept = _matching(prepared, entry_filter)
    size, sign = len(rows), -1 if descending else 1
    keys = []
    for entry, usage in used.items():
        at = index[entry]
        if (usage > 0 or (usage < 0 and not deleted[at])) and (kept is None or kept[at]):
            keys.append(sign * usage * size + at)
    keys.sort()
    split = bisect_left(keys, 0)
    zero_key: SortKey = (0, 0)
    flags = zip(rows, deleted, repeat(True) if kept is None else kept, strict=kept is not None)
    keyed: list[Keyed] = [_keyed(rows, key, size, sign) for key in keys[:split]]
    keyed.extend(
        ((zero_key, row.id), row, 0)
        for row, gone, keep in flags
        if keep and not gone and not used.get(row.id)
    )
    keyed.extend(_keyed(rows, key, size, sign) for key in keys[split:])
    return keyed


def _keyed(rows: Sequence[EntryRow], key: int, size: int, sign: int) -> Keyed:
    """The listing item of an integer key of ``_by_usage``."""
    usage, at = divmod(key, size)
    row = rows[at]
    return (((0, sign * usage), row.id), row, sign * usage)


def _by_catalog(
    prepared: Prepared, used: Mapping[str, int], entry_filter: EntryFilter, sort: EntrySort
) -> list[Keyed]:
    """A sort on the catalog's own fields: the matching entries in that order, computed
    once per catalog, filter and sort, with the usage."""

    def build() -> tuple[tuple[Position, int], ...]:
        at = prepared.index
        return tuple((key, at[key[1]]) for key, _, _ in order(prepared.rows, entry_filter, sort))

    catalog_order: tuple[tuple[Position, int], ...] = _memo(prepared, (sort, entry_filter), build)
    rows, deleted, get = prepared.rows, prepared.deleted, used.get
    keyed: list[Keyed] = []
    for key, at in catalog_order:
        usage = get(key[1], 0)
        if usage > 0 or not deleted[at]:  # as ``merged`` lists them
            keyed.append((key, rows[at], usage))
    return keyed
