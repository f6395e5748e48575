"""Filtering, ordering and keyset pagination of flows (pure), with hypothesis."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyboard.stats.flow_listing import (
    FlowFilter,
    FlowRow,
    FlowSort,
    Position,
    Project,
    SortField,
)
from tests.support.flow_reference import matches, ordered, paginate

NAMES = st.sampled_from(["alpha", "Alpha", "Bravo", "bravo", "charlie", "Ärger", "zulu", "Sync"])
PROJECTS = st.one_of(
    st.none(),
    st.builds(Project, st.sampled_from(["Sales", "ops", "Big Sync"]), st.none(), st.none()),
)


@st.composite
def flow_rows(draw: st.DrawFn) -> list[FlowRow]:
    ids = draw(st.lists(st.text("abcdef0123", min_size=1, max_size=4), unique=True, max_size=30))
    return [
        FlowRow(
            id=flow_id,
            name=draw(NAMES),
            status=draw(st.sampled_from(["ENABLED", "DISABLED"])),
            project=draw(PROJECTS),
            tasks=draw(st.integers(0, 5)),
            runs=1,
            last_run_at=None,
        )
        for flow_id in ids
    ]


SORTS = st.builds(FlowSort, st.sampled_from(list(SortField)), st.booleans())
FILTERS = st.builds(
    FlowFilter,
    st.sampled_from([None, "ENABLED", "DISABLED"]),
    st.sampled_from([None, "sync", "a", "ärg", "sales"]),
)


def walk(
    rows: list[FlowRow], flow_filter: FlowFilter, sort: FlowSort, size: int
) -> list[list[FlowRow]]:
    pages = []
    position = None
    while True:
        page = paginate(rows, flow_filter, sort, size, position)
        pages.append(list(page.rows))
        assert page.has_previous == (position is not None)
        if not page.has_next:
            return pages
        last = page.rows[-1]
        position = Position(sort.value(last), last.id)


@settings(max_examples=300, deadline=None)
@given(flow_rows(), FILTERS, SORTS, st.integers(1, 7))
def test_paging_covers_every_match_exactly_once_in_order(
    rows: list[FlowRow], flow_filter: FlowFilter, sort: FlowSort, size: int
) -> None:
    pages = walk(rows, flow_filter, sort, size)
    seen = [row for page in pages for row in page]
    expected = ordered(sort, [r for r in rows if matches(flow_filter, r)])
    assert seen == expected
    assert all(len(page) == size for page in pages[:-1])
    # Ties are broken by flow id ascending, whatever the direction.
    for a, b in itertools.pairwise(seen):
        if sort.value(a) == sort.value(b):
            assert a.id < b.id


@settings(max_examples=200, deadline=None)
@given(flow_rows(), SORTS, st.integers(1, 5), st.data())
def test_rows_that_did_not_change_are_never_repeated_or_skipped(
    rows: list[FlowRow], sort: FlowSort, size: int, data: st.DataObject
) -> None:
    everything = FlowFilter(None, None)
    first = paginate(rows, everything, sort, size, None)
    if not first.has_next:
        return
    position = Position(sort.value(first.rows[-1]), first.rows[-1].id)
    # Between the pages some flows gain usage (they may move across the boundary).
    changed_ids = set(data.draw(st.sets(st.sampled_from([r.id for r in rows]))))
    bumped = [
        FlowRow(r.id, r.name, r.status, r.project, r.tasks + 3, r.runs + 1, r.last_run_at)
        if r.id in changed_ids
        else r
        for r in rows
    ]
    rest: list[FlowRow] = []
    while True:
        page = paginate(bumped, everything, sort, size, position)
        rest.extend(page.rows)
        if not page.has_next:
            break
        position = Position(sort.value(page.rows[-1]), page.rows[-1].id)
    shown_first = {r.id for r in first.rows}
    shown_later = [r.id for r in rest]
    unchanged = {r.id for r in rows} - changed_ids
    # Unchanged rows: on exactly one of the two sides, never both, never neither.
    for flow_id in unchanged:
        assert (flow_id in shown_first) != (flow_id in shown_later)
    assert len(shown_later) == len(set(shown_later))


def row(flow_id: str, name: str, tasks: int, status: str = "ENABLED") -> FlowRow:
    return FlowRow(flow_id, name, status, None, tasks, 1, None)


def test_sort_fallbacks_and_case_insensitive_arguments() -> None:
    assert FlowSort.parse(None, None) == FlowSort(SortField.USAGE, descending=True)
    assert FlowSort.parse("bogus", "asc") == FlowSort(SortField.USAGE, descending=True)
    assert FlowSort.parse("NAME", "ASC") == FlowSort(SortField.NAME, descending=False)
    # A valid key without a valid order: usage descending, any other key ascending (§9).
    assert FlowSort.parse("status", "sideways") == FlowSort(SortField.STATUS, descending=False)
    assert FlowSort.parse("name", None) == FlowSort(SortField.NAME, descending=False)
    assert FlowSort.parse("usage", None) == FlowSort(SortField.USAGE, descending=True)
    assert FlowSort.parse("usage", "asc") == FlowSort(SortField.USAGE, descending=False)


def test_names_sort_case_insensitively_with_ties_by_id() -> None:
    rows = [row("b", "sync", 1), row("a", "Sync", 1), row("c", "alpha", 1), row("d", "Bravo", 1)]
    by_name = ordered(FlowSort(SortField.NAME, descending=False), rows)
    assert [r.id for r in by_name] == ["c", "d", "a", "b"]
    by_name = ordered(FlowSort(SortField.NAME, descending=True), rows)
    assert [r.id for r in by_name] == ["a", "b", "d", "c"]


def test_status_filter_accepts_any_case_and_rejects_other_values() -> None:
    flow_filter, problems = FlowFilter.parse("disabled", None)
    assert flow_filter.status == "DISABLED" and not problems
    flow_filter, problems = FlowFilter.parse("  ", "")
    assert flow_filter == FlowFilter(None, None) and not problems
    _, problems = FlowFilter.parse("paused", None)
    assert [p.path for p in problems] == ["status"]
    assert "paused" in problems[0].reason


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("SYNC", {"f1", "f3"}),
        (" sal ", {"f2"}),
        ("x", set()),
        ("", {"f1", "f2", "f3"}),
        ("  ", {"f1", "f2", "f3"}),
        ("c c", {"f1"}),
    ],
)
def test_search_matches_flow_or_project_name(search: str, expected: set[str]) -> None:
    rows = [
        FlowRow("f1", "Sync CRM", "ENABLED", None, 0, 0, None),
        FlowRow("f2", "Invoices", "ENABLED", Project("Sales", None, None), 0, 0, None),
        FlowRow("f3", "Mail", "DISABLED", Project("Big sync", None, None), 0, 0, None),
    ]
    flow_filter, _ = FlowFilter.parse(None, search)
    page = paginate(rows, flow_filter, FlowSort.parse(None, None), 100, None)
    assert {r.id for r in page.rows} == expected
    assert page.total_flows == len(expected)
