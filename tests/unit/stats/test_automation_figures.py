"""An organization's automation figures from its prepared catalog (the combined miss's
path, ``automation_combined._prepared_figures``) are exactly the figures of every row
that ran (the reference ``_figures`` of ``used_rows`` below): same usage, latest job,
pipes (top 50, with ties) and top 10 automations -- deleted entries, entries without a pipe or known
only from their jobs, and usage of 0 or below included."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tallyboard.domain.ranking import top
from tallyboard.stats.automation_combined import (
    TOP_AUTOMATIONS,
    TOP_PIPES,
    OrgAutomations,
    PipeUsage,
    _prepared_figures,
)
from tallyboard.stats.entry_listing import EntryRow, Pipe
from tallyboard.stats.prepared_catalog import Prepared, used_rows
from tallyboard.stats.usage_details import AvailableFilters

_PIPES = [Pipe(f"uuid-{p:02d}", f"Pipe {p}", None, "blue" if p % 2 else None) for p in range(60)]
_entry = st.tuples(
    st.one_of(st.none(), st.integers(0, len(_PIPES) - 1)),  # event pipe
    st.booleans(),  # deleted
)
_ids = st.text("abcXY-", min_size=1, max_size=3)
_jobs = st.tuples(st.integers(-3, 12), st.integers(0, 10_000))  # (usage, latest job ms)


def _prepared(catalog: dict[str, tuple[int | None, bool]]) -> Prepared:
    ids = sorted(catalog)
    pipes = {i: None if p is None else _PIPES[p] for i, (p, _) in catalog.items()}
    rows = tuple(
        EntryRow(
            i, f"name {i}", 0, "send_email", "card_moved", "active", None, pipes[i],
            1, ("u1", "Ana"), 2, ("sales",),
        )
        for i in ids
    )  # fmt: skip
    deleted = tuple(catalog[i][1] for i in ids)
    index = {entry: at for at, entry in enumerate(ids)}
    return Prepared(rows, deleted, index, AvailableFilters((), (), (), (), ()))


def _figures(rows: list[EntryRow], jobs: Mapping[str, tuple[int, int]]) -> OrgAutomations:
    """The reference: the figures of the rows that ran, one row per automation."""
    by_pipe: dict[str, list[Any]] = {}
    for row in rows:
        pipe = row.event_pipe
        if pipe is None:
            continue
        found = by_pipe.setdefault(pipe.uuid, [pipe, 0, 0])
        found[1] += row.usage
        found[2] = max(found[2], jobs[row.id][1])
    pipes = top(
        (PipeUsage(p, usage, last) for p, usage, last in by_pipe.values()),
        TOP_PIPES,
        metric=lambda p: p.usage,
        labels=lambda p: (p.pipe.uuid,),
    )
    best = top(rows, TOP_AUTOMATIONS, metric=lambda r: r.usage, labels=lambda r: (r.id,))
    return OrgAutomations(
        usage=sum(total for total, _ in jobs.values()),
        last_job_at=max((last for _, last in jobs.values()), default=None),
        pipes=tuple(pipes),
        top=tuple(best),
    )


@settings(max_examples=300, deadline=None)
@given(
    catalog=st.dictionaries(_ids, _entry, max_size=120),
    jobs=st.dictionaries(_ids, _jobs, max_size=150),
)
def test_prepared_figures_are_the_figures_of_every_row_that_ran(
    catalog: dict[str, tuple[int | None, bool]], jobs: dict[str, tuple[int, int]]
) -> None:
    used = {entry: total for entry, (total, _) in jobs.items()}
    expected = _figures(used_rows(_prepared(catalog), used), jobs)
    prepared = _prepared(catalog)
    assert _prepared_figures(prepared, jobs) == expected
    assert _prepared_figures(prepared, jobs) == expected  # with the rows it kept


def test_ties_are_broken_by_id_and_only_ten_are_listed() -> None:
    catalog: dict[str, tuple[int | None, bool]] = {f"a{i:02d}": (i % 3, False) for i in range(30)}
    jobs = {f"a{i:02d}": (5 if i % 2 else 7, 100 + i) for i in range(30)}
    figures = _prepared_figures(_prepared(catalog), jobs)
    assert [row.id for row in figures.top] == [f"a{i:02d}" for i in range(0, 20, 2)]
    assert [(p.pipe.uuid, p.usage, p.last_job_at) for p in figures.pipes] == [
        ("uuid-00", 60, 127),
        ("uuid-01", 60, 128),
        ("uuid-02", 60, 129),
    ]  # equal usage: by pipe uuid
    assert (figures.usage, figures.last_job_at) == (180, 129)
