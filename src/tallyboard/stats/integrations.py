"""Integration (flow task) statistics of one organization: summary and per-flow details.

Callers authorize first (``stats/queries.py`` asks the policy); these services take
the organization as an explicit, already-permitted argument. Neither query is cached
with a time to live: an acknowledged event shows up at once. The one expensive read --
every flow of the organization, for a search or a name order -- is reused only while
the organization's integration usage stamp (its integration version and the tenancy
generation, ``storage/usage_versions.py``) is unchanged, which makes the reuse exact
(decision 0010).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.allowances import Allowances
from tallyboard.stats.cursor import PagePosition
from tallyboard.stats.flow_listing import (
    FlowKey,
    FlowPage,
    SortField,
    cut,
    flow_row,
    sort_keys,
)
from tallyboard.stats.inputs import FlowDetailsInput
from tallyboard.storage import integration_reader as reader
from tallyboard.storage import usage_versions
from tallyboard.storage.database import Database

__all__ = [
    "FlowDetails",
    "HistoryNode",
    "IntegrationStatistics",
    "IntegrationSummary",
]

_FIELD = "integration_tasks"
_LISTING_ROWS = 200_000
"""Flow rows kept across remembered listings per process (~100 bytes each)."""
_LISTINGS = 4096
"""Remembered listings per process, whatever their size."""


@dataclass(frozen=True, slots=True)
class _Listing:
    """Every flow of an organization over some months: the rows and their sort keys."""

    rows: Sequence[Sequence[Any]]
    keys: list[FlowKey]


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


class IntegrationStatistics:
    """``integrationsUsageStats`` and ``integrationsUsageDetails``. ``label`` is the
    metric label the edge counts the request under (``stats_queries``)."""

    def __init__(
        self,
        database: Database,
        allowances: Allowances,
        positions: PagePosition,
        metrics: Metrics,
        *,
        reuse_answers: bool = True,
    ) -> None:
        self._db = database
        self._allowances = allowances
        self._positions = positions
        self._metrics = metrics
        self._listings: BoundedCache[tuple[int, tuple[str, ...]], _Listing] = BoundedCache(
            _LISTINGS if reuse_answers else 0, _LISTING_ROWS
        )
        """The last listing per (organization, months), kept under the integration
        usage stamp it was read with, bounded by its number of rows."""

    # ------------------------------------------------------------ summary

    def summary(self, org: OrgRef, window: PeriodWindow, *, label: str) -> IntegrationSummary:
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
        self._metrics.stats_queries.labels(label).inc()
        return IntegrationSummary(
            window=window,
            tasks=tasks,
            limit=allowances.limit(window, _FIELD),
            active_flows=active,
            history=history,
        )

    # ------------------------------------------------------------ details

    def details(
        self, org: OrgRef, window: PeriodWindow, request: FlowDetailsInput, *, label: str
    ) -> FlowDetails:
        """One page of the organization's flows (``request`` is already validated)."""
        months = tuple(str(m) for m in window.months)
        flow_filter, sort = request.flow_filter, request.sort
        sliced_in_sql = flow_filter.search is None and sort.field is not SortField.NAME
        with self._db.read() as conn:
            stamp = usage_versions.stamp(conn, org.pk, usage_versions.Stream.INTEGRATIONS)
            listing = self._listings.get_current((org.pk, months), stamp)
            if listing is None and sliced_in_sql:
                # Orders SQL reproduces exactly: only the page leaves the database.
                after = request.after
                found = reader.flow_page(
                    conn,
                    org.pk,
                    list(months),
                    status=flow_filter.status,
                    by_status=sort.field is SortField.STATUS,
                    descending=sort.descending,
                    first=request.first,
                    after=None if after is None else (after.value, after.flow_id),
                )
                page = FlowPage(
                    rows=tuple(flow_row(r) for r in found.records),
                    has_next=found.has_next,
                    has_previous=found.has_previous,
                    total_flows=found.total_flows,
                    total_tasks=found.total_tasks,
                )
            else:
                if listing is None:
                    rows = reader.flow_records(conn, org.pk, list(months))
                    listing = _Listing(rows, sort_keys(rows))
                    self._listings.put_current((org.pk, months), stamp, listing, len(rows))
                page = _cut(listing, request)
        cursors = tuple(
            self._positions.encode(request.binding, sort.value(row), row.id) for row in page.rows
        )
        self._metrics.stats_queries.labels(label).inc()
        return FlowDetails(window=window, page=page, cursors=cursors)


def _cut(listing: _Listing, request: FlowDetailsInput) -> FlowPage:
    """A page of a remembered listing. Names are compared case-folded (str.casefold),
    which neither engine's SQL reproduces for every script: those are filtered and
    ordered here."""
    found = cut(
        listing.keys,
        request.flow_filter,
        request.sort,
        request.first,
        request.after,
        ids_ascending=True,
    )
    return FlowPage(
        rows=tuple(flow_row(reader.record(listing.rows[i])) for i in found.indices),
        has_next=found.has_next,
        has_previous=found.has_previous,
        total_flows=found.total_flows,
        total_tasks=found.total_tasks,
    )


IntegrationStats = IntegrationStatistics
"""The old name, kept only until ``api/context.py`` uses the new one (issue 12 merge)."""
