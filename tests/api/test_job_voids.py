"""Voiding an ``automation.job`` event (section 11), on both engines: the jobs stop
counting everywhere as if the event had never been accepted -- the listing, the
combined answer's totals and its latest-job times, rows left with nothing -- and a
job adjustment that would make a figure negative is ``NEGATIVE_USAGE``."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text

from tests.support.combined import COMBINED
from tests.support.corrections import adjust, correct, void
from tests.support.harness import Harness
from tests.support.world import World, populated


@pytest.fixture
def world(any_harness: Harness) -> World:
    return populated(any_harness)


def combined(world: World) -> dict[str, Any]:
    variables = {"orgs": [world.org], "period": "current_month"}
    answer = world.harness.graphql(world.boss, COMBINED, variables)
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["automationsUsageDetailsCombined"]
    return result


def job_rows(world: World, automation: str) -> list[tuple[str, int, int]]:
    engine = create_engine(world.harness.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT d.day, d.jobs, d.last_job_at FROM automation_jobs_daily d"
                    " JOIN organizations o ON o.pk = d.org_pk"
                    " WHERE o.uuid = :org AND d.automation_id = :automation ORDER BY d.day"
                ),
                {"org": world.org, "automation": automation},
            )
            return [(str(day), int(jobs), int(last)) for day, jobs, last in rows]
    finally:
        engine.dispose()


def test_a_voided_job_counts_nowhere_and_its_time_is_no_longer_the_latest(world: World) -> None:
    late = world.job("a1", "2026-11-21T10:20:00Z", 3)
    lone = world.job("a3", "2026-11-19T08:00:00Z", 2)
    world.send([late, lone])
    assert world.details()["usage"] == 20
    outcome = correct(world.harness, [void(world.org, late), void(world.org, lone)])
    assert outcome == {"applied": 2, "unchanged": 0, "rejected": []}

    assert world.details()["usage"] == 15
    # Nothing was asked of the combined query before: no cached figures.
    answer = combined(world)
    assert answer["total"] == {"usage": 15}
    # a9's job of 10:00 is the latest that still counts (the voided one was 10:20).
    assert answer["byOrganization"][0]["lastUpdatedAt"] == "2026-11-21T10:00:00Z"
    support = [row for row in answer["byPipe"] if row["pipe"]["name"] == "Support"]
    assert [(row["usage"], row["lastUpdatedAt"]) for row in support] == [
        (7, "2026-11-20T09:00:00Z")
    ]
    assert "a3" not in [row["id"] for row in answer["topAutomations"]]
    assert job_rows(world, "a3") == []  # a row holding nothing is gone
    assert [day for day, _, _ in job_rows(world, "a1")] == ["2026-11-01", "2026-11-20"]


def test_a_job_adjustment_below_zero_is_negative_usage(world: World) -> None:
    data = {"automationId": "a2", "jobs": -4}
    entry = adjust(world.org, "too-many", "automation.job", data, time="2026-11-20T12:00:00Z")
    outcome = correct(world.harness, [entry])
    assert [r["code"] for r in outcome["rejected"]] == ["NEGATIVE_USAGE"]
    assert "data.jobs" in outcome["rejected"][0]["message"]
    assert world.details(search="archive")["usage"] == 3
