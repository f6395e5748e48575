"""The automation/agent listing against a model: any filter, any sort, any page walk
gives exactly the filtered rows in the model's order, each once (spec §9)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.errors import InvalidInputError
from tallyboard.stats.entry_listing import (
    EntryFilter,
    EntryRow,
    EntrySort,
    SortField,
    cut,
    order,
    sort_key,
)
from tallyboard.stats.usage_details_input import UsageDetailsInput, parse_sort
from tests.support.entry_rows import entry_filters, entry_rows, entry_sorts

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)


def _model(rows: list[EntryRow], f: EntryFilter, sort: EntrySort) -> list[str]:
    """Straightforward: filter each rule, then sort non-null by value, nulls after."""
    kept = [
        r
        for r in rows
        if (f.search is None or (r.name is not None and f.search in r.name.casefold()))
        and (not f.action or r.action in f.action)
        and (not f.event or r.event in f.event)
        and (not f.status or r.status in f.status)
        and (not f.tags or set(r.tags) & f.tags)
        and (not f.pipe or {p.uuid for p in (r.action_pipe, r.event_pipe) if p} & f.pipe)
    ]
    present = [r for r in kept if sort_key(sort, r)[0] == 0]
    absent = sorted((r for r in kept if sort_key(sort, r)[0] == 1), key=lambda r: r.id)
    present.sort(key=lambda r: r.id)
    present.sort(key=lambda r: sort_key(sort, r)[1], reverse=sort.descending)
    return [r.id for r in present + absent]


@given(entry_rows(), entry_filters, entry_sorts, st.integers(1, 4))
def test_every_page_walk_is_the_model_order(
    rows: list[EntryRow], entry_filter: EntryFilter, sort: EntrySort, first: int
) -> None:
    ordered = order(rows, entry_filter, sort)
    walked: list[str] = []
    after = None
    while True:
        page = cut(ordered, sort, first, after)
        walked += [row.id for row in page.rows]
        assert page.has_previous == (after is not None)
        if not page.has_next:
            break
        last = page.rows[-1]
        after = (sort_key(sort, last), last.id)
    assert walked == _model(rows, entry_filter, sort)


def test_sort_criteria_synonyms_and_defaults() -> None:
    assert parse_sort(None) == EntrySort(SortField.USAGE, True)
    assert parse_sort({"by": "name"}) == EntrySort(SortField.NAME, False)
    assert parse_sort({"by": "usage", "order": "weird"}) == EntrySort(SortField.USAGE, True)
    assert parse_sort({"field": "createdAt", "direction": "DESC"}) == EntrySort(
        SortField.CREATED_AT, True
    )
    assert parse_sort({"by": "status", "field": "name", "direction": "desc"}) == EntrySort(
        SortField.STATUS, True
    )
    assert parse_sort({"by": "bogus", "order": "asc"}) == EntrySort(SortField.USAGE, True)


def _range(start: str, end: str) -> UsageDetailsInput:
    return UsageDetailsInput.parse(
        "8a1c4f10-1111-4d2c-9c2a-abc123def456",
        {"from": datetime.fromisoformat(start), "to": datetime.fromisoformat(end)},
        search=None,
        filters=None,
        sort=None,
        now=NOW,
    )


def test_day_ranges_are_whole_utc_days_inside_the_last_three_months() -> None:
    days = _range("2026-09-01T00:00:00+00:00", "2026-11-30T23:59:59+00:00").days
    assert (days.first.isoformat(), days.last.isoformat()) == ("2026-09-01", "2026-11-30")
    shifted = _range("2026-10-01T23:30:00-02:00", "2026-10-03T01:00:00+02:00").days
    assert (shifted.first.isoformat(), shifted.last.isoformat()) == ("2026-10-02", "2026-10-02")
    for start, end in (
        ("2026-10-01T23:30:00-02:00", "2026-10-02T01:00:00+02:00"),  # from > to as instants
        ("2026-08-31T23:59:59+00:00", "2026-09-02T00:00:00+00:00"),
        ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00"),
        ("2026-11-02T00:00:00+00:00", "2026-11-01T00:00:00+00:00"),
    ):
        with pytest.raises(InvalidInputError):
            _range(start, end)
