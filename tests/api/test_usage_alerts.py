"""``usageAlerts`` and ``usageForecast`` over HTTP (spec §10), with the server's clock
injected: every field, newest first, credits in credits, the forecast's edges."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.alerts import ALERTS, FORECAST
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.usage import ai_credit, api_call, record_events


class Tenant:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.id = f"u{uuid.uuid4().hex[:8]}"
        self.uuid = str(uuid.uuid4())
        secrets = harness.apply(
            {
                "organizations": [
                    {
                        "id": self.id,
                        "uuid": self.uuid,
                        "name": "Alerted",
                        "settings": [
                            {"effectiveFrom": "2026-10", "allowances": {"apiCalls": 100}},
                            {"effectiveFrom": "2026-11", "allowances": {"aiCredits": 10}},
                        ],
                        "alerts": {"thresholds": [50, 100]},
                        "roles": [{"name": "Viewer", "permissions": ["usage_stats"]}],
                    }
                ],
                "users": [
                    {
                        "email": f"viewer-{self.id}@example.test",
                        "name": "Viewer",
                        "memberships": [{"organization": self.id, "role": "Viewer"}],
                        "personalTokens": [{"name": "t", "billingOrganization": self.id}],
                    }
                ],
                "ingestKeys": [{"name": f"k-{self.id}"}],
            }
        )
        self.token = next(iter(harness.personal_tokens(secrets).values()))

    def query(self, document: str, **variables: Any) -> dict[str, Any]:
        return self.harness.graphql(self.token, document, {"org": self.uuid, **variables})


@pytest.fixture
def tenant(any_harness: Harness) -> Tenant:
    return Tenant(any_harness)


def test_alerts_of_the_period_newest_first_with_every_field(tenant: Tenant) -> None:
    hour_ago = DEFAULT_NOW - timedelta(hours=1)
    record_events(tenant.harness, [api_call(tenant.uuid, hour_ago, count=60)])
    record_events(tenant.harness, [api_call(tenant.uuid, hour_ago, count=20)])
    record_events(tenant.harness, [ai_credit(tenant.uuid, hour_ago, credits=10)])
    answer = tenant.query(ALERTS, period="current_month")
    assert "errors" not in answer, answer
    alerts = answer["data"]["usageAlerts"]
    assert [(a["type"], a["resource"], a["threshold"]) for a in alerts] == [
        ("usage.threshold_crossed", "aiCredits", 100),
        ("usage.threshold_crossed", "aiCredits", 50),
        ("usage.forecast_exceeded", "apiCalls", None),
        ("usage.threshold_crossed", "apiCalls", 50),
    ]
    credits, _, forecast, calls = alerts
    assert credits["usage"] == 10.0 and credits["limit"] == 10.0
    assert credits["projectedUsage"] is None and credits["projectedExhaustionAt"] is None
    assert forecast["usage"] == 80.0 and forecast["projectedUsage"] == 117.0
    assert forecast["projectedExhaustionAt"] == "2026-11-26T13:07:30Z"
    assert (calls["month"], calls["usage"], calls["limit"]) == ("2026-11", 60.0, 100.0)
    assert calls["createdAt"] == "2026-11-21T10:30:00Z"
    assert len({a["id"] for a in alerts}) == 4
    assert tenant.query(ALERTS, period="last_month")["data"]["usageAlerts"] == []


def test_the_forecast_of_this_month_per_resource(tenant: Tenant) -> None:
    hour_ago = DEFAULT_NOW - timedelta(hours=1)
    record_events(tenant.harness, [api_call(tenant.uuid, hour_ago, count=80)])
    record_events(tenant.harness, [ai_credit(tenant.uuid, hour_ago, credits=2.5)])
    answer = tenant.query(FORECAST)
    assert answer["data"]["usageForecast"] == {
        "month": "2026-11",
        "resources": [
            {
                "resource": "apiCalls",
                "usage": 80.0,
                "limit": 100.0,
                "projectedUsage": 117.0,
                "projectedExhaustionAt": "2026-11-26T13:07:30Z",
            },
            {
                "resource": "integrationTasks",
                "usage": 0.0,
                "limit": None,
                "projectedUsage": None,
                "projectedExhaustionAt": None,
            },
            {
                "resource": "aiCredits",
                "usage": 2.5,
                "limit": 10.0,
                "projectedUsage": None,  # 2.5 × 30 / 20.44 = 3.67: not reaching 10
                "projectedExhaustionAt": None,
            },
            {  # no jobs and no allowance: nothing to project
                "resource": "automationJobs",
                "usage": 0.0,
                "limit": None,
                "projectedUsage": None,
                "projectedExhaustionAt": None,
            },
        ],
    }


def test_unknown_organizations_are_forbidden_and_bad_arguments_invalid(tenant: Tenant) -> None:
    for document, extra in ((ALERTS, {"period": "current_month"}), (FORECAST, {})):
        other = tenant.harness.graphql(tenant.token, document, {"org": str(uuid.uuid4()), **extra})
        assert other["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        bad = tenant.harness.graphql(tenant.token, document, {"org": "not-a-uuid", **extra})
        assert bad["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_no_projection_in_the_first_24_hours_of_a_month(sqlite_url: str) -> None:
    with Harness(sqlite_url, now=datetime(2026, 11, 1, 20, 0, tzinfo=UTC)) as harness:
        tenant = Tenant(harness)
        record_events(
            harness, [api_call(tenant.uuid, datetime(2026, 11, 1, 19, tzinfo=UTC), count=90)]
        )
        [calls, *_] = tenant.query(FORECAST)["data"]["usageForecast"]["resources"]
        assert calls["usage"] == 90.0 and calls["projectedUsage"] is None
        assert [
            a["type"] for a in tenant.query(ALERTS, period="current_month")["data"]["usageAlerts"]
        ] == ["usage.threshold_crossed"]
    assert DEFAULT_NOW.month == 11
