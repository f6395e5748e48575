"""``usageAlerts`` and ``usageForecast`` (spec §10) for an already-permitted organization.

Figures stay integers in their stored unit (micro-credits for credits) up to the
resolver, which prints them (``domain/alerts.amount``). The forecast is the same rule
the detector records alerts with (``domain/alerts.forecast``), at the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tallyboard.domain.alerts import RESOURCES, Resource, forecast
from tallyboard.domain.clock import Clock
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.allowances import Allowances
from tallyboard.storage import alert_reader
from tallyboard.storage.alert_reader import StoredAlert
from tallyboard.storage.database import Database

__all__ = ["AlertStatistics", "ResourceForecast", "UsageForecast", "ms_to_datetime"]


def ms_to_datetime(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


@dataclass(frozen=True, slots=True)
class ResourceForecast:
    resource: Resource
    usage: int
    limit: int | None
    projected_usage: int | None
    projected_exhaustion_at: datetime | None


@dataclass(frozen=True, slots=True)
class UsageForecast:
    month: Month
    resources: list[ResourceForecast]


class AlertStatistics:
    def __init__(
        self, database: Database, allowances: Allowances, clock: Clock, metrics: Metrics
    ) -> None:
        self._db = database
        self._allowances = allowances
        self._clock = clock
        self._metrics = metrics

    def alerts(self, org: OrgRef, window: PeriodWindow, *, label: str) -> list[StoredAlert]:
        self._metrics.stats_queries.labels(label).inc()
        with self._db.read() as conn:
            return alert_reader.alerts(conn, org.pk, [str(m) for m in window.months])

    def forecast(self, org: OrgRef, *, label: str) -> UsageForecast:
        self._metrics.stats_queries.labels(label).inc()
        now = self._clock.now()
        month = Month.of(now.date())
        with self._db.read() as conn:
            totals = alert_reader.month_totals(conn, org.pk, str(month))
        allowances = self._allowances.for_organization(org.pk)
        resources = []
        for resource in RESOURCES:
            usage = totals[resource.total_column]
            limit = allowances.monthly(month, resource.allowance_field)
            projection = forecast(month, now, usage, limit)
            resources.append(
                ResourceForecast(
                    resource,
                    usage,
                    limit,
                    None if projection is None else projection.projected_usage,
                    None if projection is None else projection.exhaustion_at,
                )
            )
        return UsageForecast(month, resources)
