"""The ``usageAlerts`` and ``usageForecast`` documents (spec §10), as a client sends
them."""

from __future__ import annotations

__all__ = ["ALERTS", "FORECAST"]

ALERTS = """
query Alerts($org: ID!, $period: PeriodFilter!) {
  usageAlerts(organizationUuid: $org, period: $period) {
    id type resource month threshold usage limit projectedUsage projectedExhaustionAt createdAt
  }
}"""
FORECAST = """
query Forecast($org: ID!) {
  usageForecast(organizationUuid: $org) {
    month resources { resource usage limit projectedUsage projectedExhaustionAt }
  }
}"""
