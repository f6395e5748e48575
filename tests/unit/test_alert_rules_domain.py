"""The pure alert rules (domain/alerts.py): reached thresholds, rule layering, the forecast
with an injected clock (the first 24 h, the last day, a 28-day month)."""

from __future__ import annotations

from datetime import UTC, datetime

from tallyboard.domain.alerts import BUILTIN_RULE, AlertRule, effective_rule, forecast, reached
from tallyboard.domain.periods import Month

NOV = Month(2026, 11)
FEB = Month(2027, 2)


def test_a_threshold_is_reached_exactly_at_its_share_of_the_allowance() -> None:
    assert reached([80, 100, 120], 100, 79) == []
    assert reached([80, 100, 120], 100, 80) == [80]
    assert reached([80, 100, 120], 3, 3) == [80, 100]  # 2.4 and 3: no rounding
    assert reached([1], 0, 10**9) == []


def test_a_partial_override_takes_the_rest_from_the_instance_default() -> None:
    assert effective_rule(None, None) == BUILTIN_RULE
    assert effective_rule({"forecast": False}, {"thresholds": [120, 50]}) == AlertRule(
        (50, 120), False
    )
    assert effective_rule({"thresholds": [90]}, {}) == AlertRule((90,), True)


def test_no_forecast_in_the_first_24_hours() -> None:
    assert forecast(NOV, datetime(2026, 11, 1, 23, 59, tzinfo=UTC), 99, 100) is None
    at_24h = forecast(NOV, datetime(2026, 11, 2, 0, 0, tzinfo=UTC), 10, 100)
    assert at_24h is not None and at_24h.projected_usage == 300
    assert at_24h.exhaustion_at == datetime(2026, 11, 11, tzinfo=UTC)


def test_the_last_day_and_a_28_day_month() -> None:
    last = forecast(NOV, datetime(2026, 11, 30, 12, tzinfo=UTC), 99, 100)
    assert last is not None and last.projected_usage == 100  # 99 × 30 / 29.5 = 100.67
    assert forecast(NOV, datetime(2026, 11, 30, 12, tzinfo=UTC), 97, 100) is None
    feb = forecast(FEB, datetime(2027, 2, 14, tzinfo=UTC), 50, 100)
    assert feb is not None and feb.projected_usage == 107  # 50 × 28 / 13
    assert feb.exhaustion_at == datetime(2027, 2, 27, 0, 0, tzinfo=UTC)


def test_nothing_to_forecast_once_reached_or_without_allowance() -> None:
    now = datetime(2026, 11, 20, tzinfo=UTC)
    assert forecast(NOV, now, 100, 100) is None
    assert forecast(NOV, now, 50, None) is None
    assert forecast(NOV, now, 0, 100) is None
