"""Contract audit of §11 corrections applied to the §9 automation jobs: a void makes an
``automation.job`` event stop counting everywhere (listing, combined answer, jobs export),
an adjustment of ``jobs`` counts amounts only.

A test marked ``xfail(strict=True)`` pins a rule the product does not follow yet; its
reason names the gap."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from tallyboard.cli.main import app
from tests.support.combined import COMBINED
from tests.support.corrections import adjust, correct
from tests.support.exports import jobs_file, sheet
from tests.support.harness import Harness
from tests.support.world import World, populated


@pytest.fixture
def world(harness: Harness) -> World:
    return populated(harness)


def _job_with_id(world: World, event_id: str, automation: str, at: str, jobs: int) -> Any:
    event = world.job(automation, at, jobs)
    event["id"] = event_id
    world.send([event])
    return event


def _void(world: World, event: dict[str, Any]) -> dict[str, Any]:
    entry = {
        "action": "void",
        "organization": world.org,
        "source": event["source"],
        "id": event["id"],
        "reason": "test traffic",
    }
    result: dict[str, Any] = correct(world.harness, [entry])
    return result


def _combined(world: World) -> dict[str, Any]:
    answer = world.harness.graphql(
        world.viewer, COMBINED, {"orgs": [world.org], "period": "current_month"}
    )
    assert "errors" not in answer, answer
    result: dict[str, Any] = answer["data"]["automationsUsageDetailsCombined"]
    return result


def _usage(world: World, automation: str) -> int:
    nodes = world.details(first=100)["automations"]["nodes"]
    assert {"id": automation} in nodes
    return int(world.details(search=automation)["usage"])


def test_a_voided_job_stops_counting_in_the_listing_and_the_combined_answer(
    world: World,
) -> None:
    latest = _job_with_id(world, "late-job", "a3", "2026-11-21T10:20:00Z", 6)
    assert world.details()["usage"] == 21
    result = _void(world, latest)
    assert result == {"applied": 1, "unchanged": 0, "rejected": []}
    assert world.details()["usage"] == 15
    assert _void(world, latest) == {"applied": 0, "unchanged": 1, "rejected": []}
    combined = _combined(world)
    assert combined["total"] == {"usage": 15}
    # The latest job counted is the one before the voided one.
    assert combined["byOrganization"][0]["lastUpdatedAt"] == "2026-11-21T10:00:00Z"
    assert "a3" not in [t["id"] for t in combined["topAutomations"]]


def test_a_voided_job_is_not_a_row_of_the_jobs_export(world: World) -> None:
    voided = _job_with_id(world, "late-job", "a3", "2026-11-21T10:20:00Z", 6)
    _void(world, voided)
    content = jobs_file(world)
    assert "a3" not in [row[1] for row in sheet(content, "Jobs")[1:]]
    assert "a3" not in [row[0] for row in sheet(content, "Automations")[1:]]


def test_a_positive_job_adjustment_counts_and_makes_an_unknown_automation_known(
    world: World,
) -> None:
    unknown = adjust(world.org, "adj-3", "automation.job", {"automationId": "new-one", "jobs": 2},
                     time="2026-11-20T12:00:00Z")  # fmt: skip
    assert correct(world.harness, [unknown])["applied"] == 1
    assert _usage(world, "new-one") == 2
    assert world.details()["usage"] == 17


def test_a_negative_job_adjustment_counts_and_never_goes_below_zero(world: World) -> None:
    down = adjust(world.org, "adj-1", "automation.job", {"automationId": "a1", "jobs": -3},
                  time="2026-11-20T12:00:00Z")  # fmt: skip
    assert correct(world.harness, [down])["applied"] == 1
    assert world.details(search="Move")["usage"] == 4
    too_much = adjust(world.org, "adj-2", "automation.job", {"automationId": "a2", "jobs": -4},
                      time="2026-11-20T12:00:00Z")  # fmt: skip
    [rejected] = correct(world.harness, [too_much])["rejected"]
    assert rejected["code"] == "NEGATIVE_USAGE"
    assert world.details(search="archive")["usage"] == 3


def test_verify_reports_no_difference_for_a_month_with_automation_jobs(
    world: World, sqlite_url: str
) -> None:
    runner = CliRunner()
    env = {"TALLYBOARD_DATABASE_URL": sqlite_url}
    checked = runner.invoke(
        app, ["verify", "--organization", world.org_id, "--month", "2026-11", "--json"], env=env
    )
    assert checked.exit_code == 0, checked.output
    assert orjson.loads(checked.stdout) == {"differences": [], "unverifiable": []}
