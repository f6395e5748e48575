"""Hypothesis strategies for the automation/agent listings (``stats/entry_listing.py``):
small catalogs whose names, statuses, pipes, times and tags collide often, and the
filters and sorts over them."""

from __future__ import annotations

from hypothesis import strategies as st

from tallyboard.stats.entry_listing import EntryFilter, EntryRow, EntrySort, Pipe, SortField

__all__ = ["PIPES", "entry_filters", "entry_rows", "entry_sorts"]

PIPES = [Pipe("u1", "Sales", None, None), Pipe("u2", "Support", None, None)]


@st.composite
def entry_rows(draw: st.DrawFn) -> list[EntryRow]:
    ids = draw(st.lists(st.text("abc", min_size=1, max_size=3), unique=True, max_size=12))
    return [
        EntryRow(
            id=i,
            name=draw(st.none() | st.sampled_from(["Alpha", "alpha", "Beta", "ß", "ss"])),
            usage=draw(st.integers(0, 3)),
            action=draw(st.none() | st.sampled_from(["x", "y"])),
            event=draw(st.none() | st.sampled_from(["e", "f"])),
            status=draw(st.sampled_from(["active", "inactive"])),
            action_pipe=draw(st.none() | st.sampled_from(PIPES)),
            event_pipe=draw(st.none() | st.sampled_from(PIPES)),
            created_at=draw(st.none() | st.integers(0, 3)),
            created_by=None,
            updated_at=draw(st.none() | st.integers(0, 3)),
            tags=tuple(draw(st.lists(st.sampled_from(["t1", "t2"]), unique=True))),
        )
        for i in ids
    ]


entry_filters = st.builds(
    EntryFilter,
    st.none() | st.sampled_from(["al", "ss", "b"]),
    st.frozensets(st.sampled_from(["x", "y"])),
    st.frozensets(st.sampled_from(["e", "f"])),
    st.frozensets(st.sampled_from(["u1", "u2"])),
    st.frozensets(st.sampled_from(["active", "inactive"])),
    st.frozensets(st.sampled_from(["t1", "t2"])),
)
entry_sorts = st.builds(EntrySort, st.sampled_from(list(SortField)), st.booleans())
