"""API-call statistics: totals, top lists, daily series and the combined view.

Authorization has already happened (``stats/scope.py`` or the policy) when these
methods are called: they take organizations, never principals or UUIDs.

The combined query is built from one :class:`OrgApiUsage` per organization, computed by
:meth:`ApiUsageStatistics.for_organizations` -- the unit a per-organization cache can hold
and share across different combinations of organizations. It carries each
organization's top 10 per dimension, which is enough for the cross-organization top
10: a pair outside its organization's top 10 has ten pairs of that same organization
ranked before it, so it cannot be in the global top 10 either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.cache.bounded import BoundedCache
from tallyboard.cache.per_org import Codec, PerOrgCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow
from tallyboard.domain.ranking import TOP_LIMIT, top
from tallyboard.domain.usage import COUNTER, ApiDimension
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.allowances import OrgAllowances
from tallyboard.stats.scope import CombinedScope, per_organization, sum_limits
from tallyboard.storage import api_usage_reader as reader
from tallyboard.storage import tenancy_store, usage_versions
from tallyboard.storage.database import Database

CACHE_KIND = "api_usage"

__all__ = [
    "ALLOWANCE_FIELD",
    "CACHE_KIND",
    "ApiUsageStatistics",
    "ApiUsageSummary",
    "CombinedApiUsage",
    "DailyItem",
    "MetricItem",
    "OrgApiUsage",
    "TopItem",
]

ALLOWANCE_FIELD = "api_calls"


@dataclass(frozen=True, slots=True)
class MetricItem:
    dimension: str
    metric: int


@dataclass(frozen=True, slots=True)
class DailyItem:
    day: date
    metric: int


@dataclass(frozen=True, slots=True)
class ApiUsageSummary:
    """``apiUsageStats``: a top list, or one ``Counter`` item with the total."""

    items: tuple[MetricItem, ...]
    limit: int | None


@dataclass(frozen=True, slots=True)
class OrgApiUsage:
    """One organization's API usage over one period window."""

    organization: OrgRef
    total: int
    limit: int | None
    top_operations: tuple[MetricItem, ...]
    top_tokens: tuple[MetricItem, ...]

    def top(self, dimension: ApiDimension) -> tuple[MetricItem, ...]:
        if dimension is ApiDimension.OPERATION_NAME:
            return self.top_operations
        if dimension is ApiDimension.TOKEN:
            return self.top_tokens
        raise ValueError(f"no top list for dimension {dimension!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data, for caches shared between processes."""
        org = self.organization
        return {
            "organization": {"pk": org.pk, "id": org.id, "uuid": org.uuid, "name": org.name},
            "total": self.total,
            "limit": self.limit,
            "top_operations": [[i.dimension, i.metric] for i in self.top_operations],
            "top_tokens": [[i.dimension, i.metric] for i in self.top_tokens],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrgApiUsage:
        return cls(
            organization=OrgRef(**data["organization"]),
            total=int(data["total"]),
            limit=None if data["limit"] is None else int(data["limit"]),
            top_operations=tuple(MetricItem(str(d), int(m)) for d, m in data["top_operations"]),
            top_tokens=tuple(MetricItem(str(d), int(m)) for d, m in data["top_tokens"]),
        )


_CODEC: Codec[OrgApiUsage] = Codec(dump=OrgApiUsage.to_dict, load=OrgApiUsage.from_dict)


@dataclass(frozen=True, slots=True)
class TopItem:
    organization: OrgRef
    dimension: str
    metric: int


@dataclass(frozen=True, slots=True)
class CombinedApiUsage:
    """``apiUsageStatsCombined``: rows in the order of the input list."""

    organizations: tuple[OrgApiUsage, ...]
    partial: bool

    @property
    def usage(self) -> int:
        return sum(o.total for o in self.organizations)

    @property
    def limit(self) -> int | None:
        return sum_limits(o.limit for o in self.organizations)

    def top_items(self, dimension: ApiDimension | None) -> list[TopItem]:
        """Top 10 (organization, value) pairs; without a dimension, one Counter per org."""
        if dimension is None:
            counters = [TopItem(o.organization, COUNTER, o.total) for o in self.organizations]
            return top(
                counters,
                len(counters),
                metric=lambda i: i.metric,
                labels=lambda i: (i.organization.uuid,),
            )
        pairs = [
            TopItem(o.organization, item.dimension, item.metric)
            for o in self.organizations
            for item in o.top(dimension)
        ]
        return top(
            pairs,
            TOP_LIMIT,
            metric=lambda i: i.metric,
            labels=lambda i: (i.dimension, i.organization.uuid),
        )


_REMEMBERED = 4096
"""Answers kept per process for exact reuse (least recently used out first)."""


class ApiUsageStatistics:
    """``apiUsageStats``, ``apiUsageStatsDaily`` and ``apiUsageStatsCombined`` over
    organizations the policy already permitted and a window already resolved.

    The single-organization answers are reused exactly (decision 0010): each is kept
    under the organization's API-call usage stamp (``storage/usage_versions.py``: the
    stream's version, raised in every transaction that changes these rollups, and the
    tenancy generation, raised by every ``admin apply``), so a hit is what reading the
    rollups again would return -- no time to live. ``label`` is the metric label the
    edge counts the request under (``stats_queries``).
    """

    def __init__(
        self,
        database: Database,
        metrics: Metrics,
        cache: PerOrgCache,
        *,
        reuse_answers: bool = True,
    ) -> None:
        self._db = database
        self._metrics = metrics
        self._cache = cache
        self._answers: BoundedCache[tuple[Any, ...], Any] = BoundedCache(
            _REMEMBERED if reuse_answers else 0
        )

    def summary(
        self, org: OrgRef, window: PeriodWindow, dimension: ApiDimension | None, *, label: str
    ) -> ApiUsageSummary:
        self._metrics.stats_queries.labels(label).inc()
        months = _months(window)
        key = ("summary", org.pk, tuple(months), dimension)
        with self._db.read() as conn:
            stamp = usage_versions.stamp(conn, org.pk, usage_versions.Stream.API_CALLS)
            remembered: ApiUsageSummary | None = self._answers.get_current(key, stamp)
            if remembered is not None:
                return remembered
            if dimension is None or dimension is ApiDimension.TOTAL:
                total = reader.totals(conn, [org.pk], months)[org.pk]
                items: tuple[MetricItem, ...] = (MetricItem(COUNTER, total),)
            else:
                rows = reader.top_values(conn, org.pk, months, dimension, TOP_LIMIT)
                items = tuple(MetricItem(value, calls) for value, calls in rows)
            limit = _limit(conn, org, window)
        answer = ApiUsageSummary(items, limit)
        self._answers.put_current(key, stamp, answer)
        return answer

    def daily(self, org: OrgRef, window: PeriodWindow, *, label: str) -> list[DailyItem]:
        """One item per day from the period's first day up to today, newest first."""
        self._metrics.stats_queries.labels(label).inc()
        days = window.days_to_date()
        if not days:
            return []
        first, last = days[0].isoformat(), days[-1].isoformat()
        key = ("daily", org.pk, first, last)
        with self._db.read() as conn:
            stamp = usage_versions.stamp(conn, org.pk, usage_versions.Stream.API_CALLS)
            remembered: tuple[DailyItem, ...] | None = self._answers.get_current(key, stamp)
            if remembered is None:
                counted = reader.daily_totals(conn, org.pk, first, last)
                remembered = tuple(
                    DailyItem(day, counted.get(day.isoformat(), 0)) for day in reversed(days)
                )
                self._answers.put_current(key, stamp, remembered)
        return list(remembered)

    def for_organizations(
        self, orgs: Sequence[OrgRef], window: PeriodWindow, *, label: str
    ) -> dict[int, OrgApiUsage]:
        """Everything the combined query needs from each organization, in three
        statements whatever their number (a combined cache miss computes up to 25)."""
        self._metrics.stats_queries.labels(label).inc(len(orgs))
        if not orgs:
            return {}
        months = _months(window)
        pks = [org.pk for org in orgs]
        dimensions = (ApiDimension.OPERATION_NAME, ApiDimension.TOKEN)
        with self._db.read() as conn:
            totals = reader.totals(conn, pks, months)
            tops = reader.top_values_many(conn, pks, months, dimensions, TOP_LIMIT)
            entries = tenancy_store.settings_entries(conn, pks)
        return {
            org.pk: OrgApiUsage(
                organization=org,
                total=totals[org.pk],
                limit=OrgAllowances(entries.get(org.pk, [])).limit(window, ALLOWANCE_FIELD),
                top_operations=tuple(
                    MetricItem(v, c) for v, c in tops[(org.pk, ApiDimension.OPERATION_NAME)]
                ),
                top_tokens=tuple(MetricItem(v, c) for v, c in tops[(org.pk, ApiDimension.TOKEN)]),
            )
            for org in orgs
        }

    def combined(
        self, scope: CombinedScope, window: PeriodWindow, *, label: str
    ) -> CombinedApiUsage:
        """``apiUsageStatsCombined`` over an already-authorized scope (decision 0007)."""

        def compute(missing: Sequence[OrgRef]) -> dict[int, OrgApiUsage]:
            return self.for_organizations(missing, window, label=label)

        rows = per_organization(self._cache, CACHE_KIND, scope, window, compute, _CODEC)
        results = tuple(replace(figures, organization=org) for org, figures in rows)
        return CombinedApiUsage(results, scope.partial)


def _months(window: PeriodWindow) -> Sequence[str]:
    return [str(month) for month in window.months]


def _limit(conn: Connection, org: OrgRef, window: PeriodWindow) -> int | None:
    """The period's allowance, read in the same snapshot as the usage."""
    entries = tenancy_store.settings_entries(conn, [org.pk]).get(org.pk, [])
    return OrgAllowances(entries).limit(window, ALLOWANCE_FIELD)


ApiUsageService = ApiUsageStatistics
"""The old name, kept only until ``api/context.py`` uses the new one (issue 12 merge)."""
