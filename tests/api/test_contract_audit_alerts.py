"""Contract audit of §10 thresholds on the §9 resource ``automationJobs``: crossings by
ingest, by a correction and by an apply that lowers the allowance, read back through
``usageAlerts`` and ``usageForecast``.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.alerts import ALERTS, FORECAST
from tests.support.corrections import adjust, correct
from tests.support.harness import Harness
from tests.support.world import World, populated


@pytest.fixture
def world(harness: Harness) -> World:
    return populated(harness)  # 15 jobs in November 2026


def _allowance(world: World, jobs: int) -> None:
    world.harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "settings": [
                        {"effectiveFrom": "2026-11", "allowances": {"automationJobs": jobs}}
                    ],
                    "alerts": {"thresholds": [50, 100], "forecast": False},
                }
            ]
        }
    )


def _alerts(world: World) -> list[dict[str, Any]]:
    answer = world.harness.graphql(
        world.viewer, ALERTS, {"org": world.org, "period": "current_month"}
    )
    assert "errors" not in answer, answer
    alerts: list[dict[str, Any]] = answer["data"]["usageAlerts"]
    return alerts


def test_job_thresholds_fire_on_ingest_and_on_a_correction(world: World) -> None:
    _allowance(world, 40)
    assert _alerts(world) == []
    world.send([world.job("a1", "2026-11-21T10:00:00Z", 6)])  # 21 of 40
    entry = adjust(world.org, "adj-jobs", "automation.job", {"automationId": "a1", "jobs": 19},
                   time="2026-11-21T09:00:00Z")  # fmt: skip
    assert correct(world.harness, [entry])["applied"] == 1  # 40 of 40
    alerts = _alerts(world)
    assert [(a["type"], a["resource"], a["month"], a["threshold"], a["usage"], a["limit"])
            for a in alerts] == [
        ("usage.threshold_crossed", "automationJobs", "2026-11", 100, 40.0, 40.0),
        ("usage.threshold_crossed", "automationJobs", "2026-11", 50, 21.0, 40.0),
    ]  # fmt: skip


def test_an_apply_that_lowers_the_job_allowance_fires_at_once(world: World) -> None:
    _allowance(world, 100)
    assert _alerts(world) == []
    _allowance(world, 15)
    alerts = _alerts(world)
    assert sorted(a["threshold"] for a in alerts) == [50, 100]
    assert {(a["resource"], a["usage"], a["limit"]) for a in alerts} == {
        ("automationJobs", 15.0, 15.0)
    }


def test_the_forecast_lists_automation_jobs(world: World) -> None:
    _allowance(world, 100)
    answer = world.harness.graphql(world.viewer, FORECAST, {"org": world.org})
    assert "errors" not in answer, answer
    resources = {r["resource"]: r for r in answer["data"]["usageForecast"]["resources"]}
    assert set(resources) == {"apiCalls", "integrationTasks", "aiCredits", "automationJobs"}
    jobs = resources["automationJobs"]
    assert (jobs["usage"], jobs["limit"]) == (15.0, 100.0)


def test_the_job_projection_is_rounded_down_to_an_integer(world: World) -> None:
    _allowance(world, 20)
    answer = world.harness.graphql(world.viewer, FORECAST, {"org": world.org})
    resources = {r["resource"]: r for r in answer["data"]["usageForecast"]["resources"]}
    jobs = resources["automationJobs"]
    # 15 jobs in 20 days 10.5 h of a 30-day month: 22.02 -> 22; 20 reached after 27.25 days.
    assert jobs["projectedUsage"] == 22
    assert jobs["projectedExhaustionAt"] == "2026-11-28T06:00:00Z"


def test_a_partial_override_takes_the_omitted_keys_from_the_instance_default(
    world: World,
) -> None:
    world.harness.apply(
        {
            "alerts": {"thresholds": [60], "forecast": False},
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "settings": [
                        {"effectiveFrom": "2026-11", "allowances": {"automationJobs": 20}}
                    ],
                    "alerts": {"forecast": False},  # thresholds: the instance default's
                }
            ],
        }
    )
    assert [(a["threshold"], a["usage"]) for a in _alerts(world)] == [(60, 15.0)]
    # Changing the instance default adds thresholds, fired at apply time when reached.
    world.harness.apply({"alerts": {"thresholds": [60, 70], "forecast": False}})
    assert [a["threshold"] for a in _alerts(world)] == [70, 60]
