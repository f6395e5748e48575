"""Filtering, ordering and keyset pagination of an organization's flows (pure).

Pages are cut by position, not by offset: a cursor remembers the sort value and the
id of the last flow shown, and the next page starts strictly after that position.
Rows that did not change between two requests are therefore never repeated or
skipped, however many flows gained usage (and moved) in between. Ties are always
broken by flow id ascending, which makes the order total.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from tallyboard.domain.errors import Problem
from tallyboard.domain.text import MAX_NAME_LENGTH, character_problem
from tallyboard.storage.integration_reader import FlowRecord

__all__ = [
    "STATUSES",
    "FlowFilter",
    "FlowKey",
    "FlowPage",
    "FlowRow",
    "FlowSort",
    "Position",
    "Project",
    "Slice",
    "SortField",
    "cut",
    "flow_row",
    "sort_keys",
]

STATUSES = ("ENABLED", "DISABLED")


class SortField(StrEnum):
    NAME = "name"
    USAGE = "usage"
    STATUS = "status"


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    icon: str | None
    color: str | None


@dataclass(frozen=True, slots=True)
class FlowRow:
    id: str
    name: str
    status: str
    project: Project | None
    tasks: int
    runs: int
    last_run_at: int | None
    """Epoch seconds of the latest run in the period."""


SortValue = str | int


@dataclass(frozen=True, slots=True)
class FlowSort:
    field: SortField
    descending: bool

    @classmethod
    def parse(cls, by: str | None, order: str | None) -> FlowSort:
        """Never fails: an unknown field means the default, usage descending; a known
        field without a valid order sorts usage descending, anything else ascending
        (spec §9, settled)."""
        try:
            field = SortField((by or "").strip().lower())
        except ValueError:
            return cls(SortField.USAGE, descending=True)
        wanted = (order or "").strip().lower()
        descending = wanted == "desc" if wanted in ("asc", "desc") else field is SortField.USAGE
        return cls(field, descending)

    def value(self, row: FlowRow) -> SortValue:
        if self.field is SortField.USAGE:
            return row.tasks
        if self.field is SortField.NAME:
            return row.name.casefold()
        return row.status


def _compare(a: SortValue, b: SortValue) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    if isinstance(a, str) and isinstance(b, str):
        return (a > b) - (a < b)
    raise TypeError(f"cannot compare sort values {a!r} and {b!r}")


@dataclass(frozen=True, slots=True)
class Position:
    """Where a page ended: the last row's sort value and id."""

    value: SortValue
    flow_id: str


@dataclass(frozen=True, slots=True)
class FlowFilter:
    status: str | None
    """ENABLED / DISABLED, or None for every status."""
    search: str | None
    """Case-folded substring of the flow or project name, or None."""

    @classmethod
    def parse(cls, status: str | None, search: str | None) -> tuple[FlowFilter, list[Problem]]:
        problems = []
        wanted = None
        if status is not None and status.strip():
            wanted = status.strip().upper()
            if wanted not in STATUSES:
                problems.append(
                    Problem("status", f"must be ENABLED or DISABLED (any case), got {status!r}")
                )
        if search is not None:
            problem = character_problem(search)
            if problem is None and len(search) > MAX_NAME_LENGTH:
                problem = f"must be at most {MAX_NAME_LENGTH} characters (no name is longer)"
            if problem is not None:
                problems.append(Problem("search", problem))
        folded = search.strip().casefold() if search and search.strip() else None
        return cls(wanted, folded), problems


@dataclass(frozen=True, slots=True)
class FlowPage:
    rows: tuple[FlowRow, ...]
    has_next: bool
    has_previous: bool
    total_flows: int
    total_tasks: int


FlowKey = tuple[str, str, str, str | None, int]
"""What filtering and ordering look at: (id, name, status, project name, tasks)."""


@dataclass(frozen=True, slots=True)
class Slice:
    """A page as positions in the list of keys it was cut from."""

    indices: tuple[int, ...]
    has_next: bool
    has_previous: bool
    total_flows: int
    total_tasks: int


def cut(
    keys: Sequence[FlowKey],
    flow_filter: FlowFilter,
    sort: FlowSort,
    first: int,
    after: Position | None,
    *,
    ids_ascending: bool = False,
) -> Slice:
    """One page of ``keys`` after ``after``: filtered, ordered (ties by id ascending)
    and cut over plain tuples, so thousands of flows are paged without building a row
    object for each (``ids_ascending``: ``keys`` already come ordered by id, so one
    stable sort by value is enough). ``storage.integration_reader.flow_page`` is the
    same page cut in SQL, for the orders SQL reproduces exactly; the two are checked
    against each other in tests/integration/test_integration_reader.py."""
    wanted, search = flow_filter.status, flow_filter.search
    matching = [
        i
        for i, (_, name, status, project, _tasks) in enumerate(keys)
        if (wanted is None or status == wanted)
        and (
            search is None
            or search in name.casefold()
            or (project is not None and search in project.casefold())
        )
    ]
    if not ids_ascending:
        matching.sort(key=lambda i: keys[i][0])
    if sort.field is SortField.USAGE:
        values: dict[int, SortValue] = {i: keys[i][4] for i in matching}
    elif sort.field is SortField.NAME:
        values = {i: keys[i][1].casefold() for i in matching}
    else:
        values = {i: keys[i][2] for i in matching}
    # Stable sort (also when reversed): equal values keep the id order, so ties are
    # always id ascending.
    ordered = sorted(matching, key=values.__getitem__, reverse=sort.descending)
    start = 0
    if after is not None:
        while start < len(ordered):
            i = ordered[start]
            order = _compare(values[i], after.value)
            if (keys[i][0] > after.flow_id) if order == 0 else (order < 0) == sort.descending:
                break
            start += 1
    return Slice(
        indices=tuple(ordered[start : start + first]),
        has_next=start + first < len(ordered),
        has_previous=start > 0,
        total_flows=len(matching),
        total_tasks=sum(keys[i][4] for i in matching),
    )


def sort_keys(rows: Sequence[Sequence[Any]]) -> list[FlowKey]:
    """What :func:`cut` filters and orders by, per row of
    ``storage.integration_reader.flow_records``."""
    return [
        (flow_id, flow_id if name is None else name, status, project_name, int(tasks))
        for flow_id, name, status, project_name, _, _, tasks, _, _ in rows
    ]


def flow_row(record: FlowRecord) -> FlowRow:
    """A flow as the API shows it: a flow known only from events without a name is
    shown by its id (its status already defaults in the reader, spec §4)."""
    project = None
    if record.project_name is not None:
        project = Project(record.project_name, record.project_icon, record.project_color)
    return FlowRow(
        id=record.flow_id,
        name=record.name if record.name is not None else record.flow_id,
        status=record.status,
        project=project,
        tasks=record.tasks,
        runs=record.runs,
        last_run_at=record.last_run_at,
    )
