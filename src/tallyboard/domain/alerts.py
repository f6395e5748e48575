"""Allowance alerts (spec §10): which thresholds a month's usage reached, the forecast.

Pure rules, shared by detection in the write transaction (``storage/alert_detector.py``),
the ``usageForecast`` query and the admin document's checks. Usage and allowances are
integers in the unit the rollups store (calls, tasks, micro-credits), so a threshold is
reached exactly when ``100 × U ≥ t × A`` -- no rounding anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tallyboard.domain.periods import Month

__all__ = [
    "BUILTIN_RULE",
    "EVENT_NAMES",
    "FORECAST_EXCEEDED",
    "FORECAST_LEVEL",
    "RESOURCES",
    "THRESHOLD_CROSSED",
    "AlertRule",
    "Forecast",
    "Resource",
    "effective_rule",
    "forecast",
    "reached",
]

THRESHOLD_CROSSED = "usage.threshold_crossed"
FORECAST_EXCEEDED = "usage.forecast_exceeded"
EVENT_NAMES = (THRESHOLD_CROSSED, FORECAST_EXCEEDED)
FORECAST_LEVEL = 0
"""The forecast's place in the outbox's uniqueness key (thresholds are 1..1000)."""
MIN_THRESHOLD, MAX_THRESHOLD, MAX_THRESHOLDS = 1, 1000, 10
_DAY_SECONDS = 86400


@dataclass(frozen=True, slots=True)
class Resource:
    """A resource with a monthly allowance: its public name, its column in
    ``usage_totals_monthly`` and its field in the organization's settings."""

    name: str
    total_column: str
    allowance_field: str
    credits: bool = False


RESOURCES: tuple[Resource, ...] = (
    Resource("apiCalls", "calls", "api_calls"),
    Resource("integrationTasks", "tasks", "integration_tasks"),
    Resource("aiCredits", "credits", "ai_credits", credits=True),
    Resource("automationJobs", "jobs", "automation_jobs"),
)
"""Every resource with a monthly allowance and a monthly total (spec §10)."""


@dataclass(frozen=True, slots=True)
class AlertRule:
    thresholds: tuple[int, ...]
    forecast: bool


BUILTIN_RULE = AlertRule((80, 100), True)


def effective_rule(
    instance: Mapping[str, Any] | None, override: Mapping[str, Any] | None
) -> AlertRule:
    """The built-in rule, then the instance default's keys, then the organization's: a
    partial override takes the keys it omits from the instance default."""
    merged: dict[str, Any] = {
        "thresholds": BUILTIN_RULE.thresholds,
        "forecast": BUILTIN_RULE.forecast,
    }
    for layer in (instance, override):
        for key, value in (layer or {}).items():
            if value is not None:
                merged[key] = value
    return AlertRule(tuple(sorted(set(merged["thresholds"]))), bool(merged["forecast"]))


def reached(thresholds: Iterable[int], allowance: int, usage: int) -> list[int]:
    """Thresholds that ``usage`` reaches against a positive ``allowance``."""
    if allowance <= 0:
        return []
    return [t for t in thresholds if 100 * usage >= t * allowance]


@dataclass(frozen=True, slots=True)
class Forecast:
    projected_usage: int
    exhaustion_at: datetime


def forecast(month: Month, now: datetime, usage: int, allowance: int | None) -> Forecast | None:
    """The straight-line projection of ``month`` at ``now``, when it reaches the allowance.

    None before 24 h of the month have passed, without a positive allowance, once the
    usage already reached it (nothing left to forecast), or when the month's pace does
    not reach it. The projection is rounded down (to the unit stored: micro-credits for
    credits, which is 6 decimals); the exhaustion time is when U reaches A at this pace.
    """
    if allowance is None or allowance <= 0 or usage >= allowance or usage <= 0:
        return None
    start = month.start
    elapsed = (now - start).total_seconds()
    length = month.length * _DAY_SECONDS
    if elapsed < _DAY_SECONDS or elapsed > length:
        return None
    elapsed_us = round(elapsed * 1_000_000)
    projected = usage * length * 1_000_000 // elapsed_us
    if projected < allowance:
        return None
    exhausted = start + timedelta(microseconds=allowance * elapsed_us // usage)
    return Forecast(projected, exhausted.replace(microsecond=0))


def resource_named(name: str) -> Resource:
    return next(r for r in RESOURCES if r.name == name)


def amount(resource: Resource, value: int | None) -> int | float | None:
    """A stored figure as the contract prints it: credits from micro-credits."""
    if value is None or not resource.credits:
        return value
    return value / 1_000_000


def payload(
    alert_id: str,
    event: str,
    created_at: str,
    organization: Mapping[str, str],
    data: Mapping[str, Any],
) -> dict[str, Any]:
    """The webhook body (spec §10): ``threshold`` null for a forecast, the projections
    null for a threshold; times as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return {
        "type": event,
        "id": alert_id,
        "createdAt": created_at,
        "data": {"organization": dict(organization), **data},
    }
