"""The prepared order (``stats/prepared_order.py``) against the plain one: for any
catalog (deleted entries included), any usage (negative, zero, entries without a
catalog row), any filter and any sort, the listing equals ``order(merged(...))`` --
rows, keys, order and usage sum, read item by item or by slices -- and stays equal
when the same catalog is asked again with other usage (the memoised orders are
reused)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyboard.stats import prepared_order
from tallyboard.stats.entry_listing import (
    EntryFilter,
    EntryRow,
    EntrySort,
    Keyed,
    SortField,
    order,
    shown,
    with_usage,
)
from tallyboard.stats.prepared_catalog import Prepared, merged
from tallyboard.stats.prepared_order import ordered
from tallyboard.stats.usage_details import AvailableFilters
from tests.support.entry_rows import entry_filters, entry_rows

_NO_FILTERS = AvailableFilters((), (), (), (), ())
_NONE = EntryFilter(None)
_SORTS = [EntrySort(field, descending) for field in SortField for descending in (False, True)]


def _prepared(rows: list[EntryRow], deleted: list[bool]) -> Prepared:
    rows = sorted(rows, key=lambda r: r.id)
    flags = tuple(deleted[i % len(deleted)] for i in range(len(rows))) if deleted else ()
    index = {row.id: at for at, row in enumerate(rows)}
    return Prepared(tuple(rows), flags or (False,) * len(rows), index, _NO_FILTERS)


@st.composite
def _usage(draw: st.DrawFn, ids: list[str]) -> dict[str, int]:
    """Usage mostly of catalog entries; one time in four, of an entry without a row."""
    figures = st.integers(-3, 3)
    values = draw(st.lists(figures | st.none(), min_size=len(ids), max_size=len(ids)))
    used = {entry: value for entry, value in zip(ids, values, strict=True) if value is not None}
    if draw(st.sampled_from([False, False, False, True])):
        used[draw(st.sampled_from(["zz", "d", "ab0"]))] = draw(figures)
    return used


@settings(max_examples=300)
@given(
    rows=entry_rows(),
    deleted=st.lists(st.booleans(), max_size=5),
    data=st.data(),
    filters=st.lists(entry_filters, min_size=1, max_size=2),
)
def test_the_prepared_order_is_the_plain_order(
    rows: list[EntryRow],
    deleted: list[bool],
    data: st.DataObject,
    filters: list[EntryFilter],
) -> None:
    zeroed = [with_usage(row, 0) for row in rows]
    prepared = _prepared(zeroed, deleted)
    usages = data.draw(st.lists(_usage([r.id for r in rows]), min_size=1, max_size=3))
    for used in usages:
        for entry_filter, sort in itertools.product([_NONE, *filters], _SORTS):
            expected = order(merged(prepared, used), entry_filter, sort)
            found, usage = ordered(prepared, used, entry_filter, sort)
            assert len(found) == len(expected)
            assert _shown([found[i] for i in range(len(found))]) == _shown(expected)
            assert _shown(list(found[1:4])) == _shown(expected[1:4])
            assert usage == sum(item[2] for item in expected)


def _shown(keyed: Sequence[Keyed]) -> list[tuple[object, EntryRow, int]]:
    """Positions, rows as shown and usage (rows may carry another usage: ``Keyed``)."""
    return [(position, shown((position, row, usage)), usage) for position, row, usage in keyed]


def test_what_is_kept_per_catalog_is_bounded_whatever_the_filters() -> None:
    """Searches are the callers' own text: each new one must not grow the catalog."""
    rows = [
        EntryRow(f"a{i}", f"Name {i}", 0, None, None, "active", None, None, i, None, None, ())
        for i in range(40)
    ]
    prepared = _prepared(rows, [False, False, True])
    used = {f"a{i}": i % 5 for i in range(0, 40, 3)}
    sort = EntrySort(SortField.NAME, False)
    for i in range(3 * prepared_order.MEMOS):
        search = EntryFilter(f"name {i}")
        found, _ = ordered(prepared, used, search, sort)
        assert _shown(list(found)) == _shown(order(merged(prepared, used), search, sort))
        assert len(prepared.orders) <= prepared_order.MEMOS
