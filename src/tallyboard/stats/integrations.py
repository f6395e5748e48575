"""Integration (flow task) statistics of one organization: summary and per-flow details.

Callers authorize first (the resolvers ask the policy); these services take the
organization as an explicit, already-permitted argument. Neither query is cached with
a time to live: an acknowledged event shows up at once. The one expensive read -- every
flow of the organization, for a search or a name order -- is reused only while the
organization's integration version and the tenancy generation it was read under are
unchanged, which makes the reuse exact (decision 0010).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.allowances import Allowances
from tallyboard.stats.cursor import CursorCodec
from tallyboard.stats.flow_listing import (
    FlowFilter,
    FlowKey,
    FlowPage,
    FlowRow,
    FlowSort,
    Position,
    Project,
    SortField,
    cut,
)
from tallyboard.storage import integration_reader as reader
from tallyboard.storage import usage_versions
from tallyboard.storage.database import Database

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "FlowDetails",
    "HistoryNode",
    "IntegrationStats",
    "IntegrationSummary",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_FIELD = "integration_tasks"
_CURSOR_VERSION = 1
_LISTING_ROWS = 200_000
"""Flow rows kept across remembered listings per process (~100 bytes each)."""


@dataclass(frozen=True, slots=True)
class _Listing:
    """Every flow of an organization over some months: the rows and their sort keys."""

    stamp: usage_versions.Stamp
    rows: Sequence[Sequence[Any]]
    keys: list[FlowKey]


class _ListingMemo:
    """The last listing per (organization, months), bounded by total rows (LRU)."""

    def __init__(self, max_rows: int) -> None:
        self._max_rows = max_rows
        self._rows = 0
        self._entries: OrderedDict[tuple[int, tuple[str, ...]], _Listing] = OrderedDict()
        self._lock = threading.Lock()

    def get(
        self, org_pk: int, months: tuple[str, ...], stamp: usage_versions.Stamp
    ) -> _Listing | None:
        with self._lock:
            listing = self._entries.get((org_pk, months))
            if listing is None or listing.stamp != stamp:
                return None
            self._entries.move_to_end((org_pk, months))
            return listing

    def put(self, org_pk: int, months: tuple[str, ...], listing: _Listing) -> None:
        if not self._max_rows or len(listing.rows) > self._max_rows:
            return
        with self._lock:
            old = self._entries.pop((org_pk, months), None)
            if old is not None:
                self._rows -= len(old.rows)
            while self._entries and self._rows + len(listing.rows) > self._max_rows:
                _, evicted = self._entries.popitem(last=False)
                self._rows -= len(evicted.rows)
            self._entries[(org_pk, months)] = listing
            self._rows += len(listing.rows)


@dataclass(frozen=True, slots=True)
class HistoryNode:
    date: str
    usage: int
    limit: int | None


@dataclass(frozen=True, slots=True)
class IntegrationSummary:
    window: PeriodWindow
    tasks: int
    limit: int | None
    active_flows: int
    history: tuple[HistoryNode, ...]


@dataclass(frozen=True, slots=True)
class FlowDetails:
    window: PeriodWindow
    page: FlowPage
    cursors: tuple[str, ...]
    """One cursor per row of the page."""


class IntegrationStats:
    def __init__(
        self,
        database: Database,
        allowances: Allowances,
        cursors: CursorCodec,
        metrics: Metrics,
        *,
        reuse_answers: bool = True,
    ) -> None:
        self._db = database
        self._allowances = allowances
        self._cursors = cursors
        self._summaries = metrics.stats_queries.labels("integrationsUsageStats")
        self._details = metrics.stats_queries.labels("integrationsUsageDetails")
        self._listings = _ListingMemo(_LISTING_ROWS if reuse_answers else 0)

    # ------------------------------------------------------------ summary

    def summary(self, org: OrgRef, window: PeriodWindow) -> IntegrationSummary:
        allowances = self._allowances.for_organization(org.pk)
        months = [str(m) for m in window.months]
        with self._db.read() as conn:
            tasks, active = reader.period_totals(conn, org.pk, months)
            if window.uses_monthly_buckets:
                buckets = window.months_to_date()
                by_month = reader.tasks_by_month(conn, org.pk, [str(m) for m in buckets])
                history = tuple(
                    HistoryNode(str(m), by_month.get(str(m), 0), allowances.monthly(m, _FIELD))
                    for m in buckets
                )
            else:
                days = window.days_to_date()
                by_day = (
                    reader.tasks_by_day(conn, org.pk, days[0].isoformat(), days[-1].isoformat())
                    if days
                    else {}
                )
                history = tuple(
                    HistoryNode(
                        day.isoformat(),
                        by_day.get(day.isoformat(), 0),
                        allowances.monthly(Month.of(day), _FIELD),
                    )
                    for day in days
                )
        self._summaries.inc()
        return IntegrationSummary(
            window=window,
            tasks=tasks,
            limit=allowances.limit(window, _FIELD),
            active_flows=active,
            history=history,
        )

    # ------------------------------------------------------------ details

    def details(
        self,
        org: OrgRef,
        window: PeriodWindow,
        *,
        status: str | None = None,
        search: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> FlowDetails:
        """One page of the organization's flows; every invalid argument reported at once."""
        flow_filter, problems = FlowFilter.parse(status, search)
        sort = FlowSort.parse(sort_by, sort_order)
        size = DEFAULT_PAGE_SIZE if first is None else first
        if not 1 <= size <= MAX_PAGE_SIZE:
            problems.append(Problem("first", f"must be between 1 and {MAX_PAGE_SIZE}, got {size}"))
        binding = _binding(org, window, flow_filter, sort)
        position = None
        if after is not None:
            position, problem = self._position(after, binding, sort)
            if problem is not None:
                problems.append(problem)
        if problems:
            raise InvalidInputError(problems)

        months = tuple(str(m) for m in window.months)
        sliced_in_sql = flow_filter.search is None and sort.field is not SortField.NAME
        found: reader.FlowRecordPage | None = None
        with self._db.read() as conn:
            stamp = usage_versions.stamp(conn, org.pk, usage_versions.Stream.INTEGRATIONS)
            listing = self._listings.get(org.pk, months, stamp)
            if listing is None and sliced_in_sql:
                # Orders SQL reproduces exactly: only the page leaves the database.
                found = reader.flow_page(
                    conn,
                    org.pk,
                    list(months),
                    status=flow_filter.status,
                    by_status=sort.field is SortField.STATUS,
                    descending=sort.descending,
                    first=size,
                    after=None if position is None else (position.value, position.flow_id),
                )
            elif listing is None:
                rows = reader.flow_records(conn, org.pk, list(months))
                listing = _Listing(stamp, rows, _sort_keys(rows))
                self._listings.put(org.pk, months, listing)
        if listing is None:
            assert found is not None  # one of the two branches above ran
            page = FlowPage(
                rows=tuple(_row(r) for r in found.records),
                has_next=found.has_next,
                has_previous=found.has_previous,
                total_flows=found.total_flows,
                total_tasks=found.total_tasks,
            )
        else:
            # Names are compared case-folded (str.casefold), which neither engine's SQL
            # reproduces for every script: filter and order those in Python.
            sliced = cut(listing.keys, flow_filter, sort, size, position, ids_ascending=True)
            page = FlowPage(
                rows=tuple(_row(reader.record(listing.rows[i])) for i in sliced.indices),
                has_next=sliced.has_next,
                has_previous=sliced.has_previous,
                total_flows=sliced.total_flows,
                total_tasks=sliced.total_tasks,
            )
        cursors = tuple(
            self._cursors.encode([_CURSOR_VERSION, binding, sort.value(row), row.id])
            for row in page.rows
        )
        self._details.inc()
        return FlowDetails(window=window, page=page, cursors=cursors)

    def _position(
        self, after: str, binding: str, sort: FlowSort
    ) -> tuple[Position | None, Problem | None]:
        payload = self._cursors.decode(after)
        if payload is None or len(payload) != 4 or payload[0] != _CURSOR_VERSION:
            return None, Problem("after", "is not a cursor issued by this server")
        _, bound_to, value, flow_id = payload
        if bound_to != binding:
            return None, Problem(
                "after",
                "belongs to a different query: organization, period, status, search and "
                "sort must stay the same while paginating",
            )
        expected = int if sort.field is SortField.USAGE else str
        if type(value) is not expected or not isinstance(flow_id, str):
            return None, Problem("after", "is not a cursor issued by this server")
        return Position(value, flow_id), None


def _sort_keys(rows: Sequence[Sequence[Any]]) -> list[FlowKey]:
    """What :func:`~tallyboard.stats.flow_listing.cut` filters and orders by, per row."""
    return [
        (
            flow_id,
            flow_id if name is None else name,
            (status or "ENABLED").upper(),
            project_name,
            int(tasks),
        )
        for flow_id, name, status, project_name, _, _, tasks, _, _ in rows
    ]


def _binding(org: OrgRef, window: PeriodWindow, flow_filter: FlowFilter, sort: FlowSort) -> str:
    """What a cursor is only valid for. Resolved months are deliberately left out, so a
    client paginating across midnight at a month's end is not refused."""
    parts = [
        org.uuid,
        str(window.period),
        flow_filter.status,
        flow_filter.search,
        str(sort.field),
        sort.descending,
    ]
    return hashlib.sha256(orjson.dumps(parts)).hexdigest()[:16]


def _row(record: reader.FlowRecord) -> FlowRow:
    project = None
    if record.project_name is not None:
        project = Project(record.project_name, record.project_icon, record.project_color)
    return FlowRow(
        id=record.flow_id,
        # A flow known only from events without a name is shown by its id, and is
        # ENABLED until the catalog says otherwise (spec §4).
        name=record.name if record.name is not None else record.flow_id,
        status=(record.status or "ENABLED").upper(),
        project=project,
        tasks=record.tasks,
        runs=record.runs,
        last_run_at=record.last_run_at,
    )
