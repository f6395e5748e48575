"""The demo: built through the real backfill path, it answers exactly what was generated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tallyboard.demo.builder import build_demo
from tallyboard.demo.usage import DayOfUsage
from tallyboard.demo.world import ORGANIZATIONS
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.credits import micro_to_float
from tallyboard.domain.usage import is_billable_status
from tallyboard.settings import Settings
from tests.support.harness import DEFAULT_NOW, Harness

pytestmark = pytest.mark.sqlite

PERIOD_START = "2026-09-01"  # last_3_months on DEFAULT_NOW (2026-11-21)

STATS = """
query($org: ID!, $orgs: [ID!]!) {
  apiUsageStats(organizationUuid: $org, period: last_3_months) { data { metric } }
  integrationsUsageStats(organizationUuid: $org, period: last_3_months) { tasksConsumed { usage } }
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: last_3_months) {
    total { usage } topAgents { agentId agentName }
  }
}
"""


def _expected(days: list[DayOfUsage], org_uuid: str) -> tuple[int, int, int]:
    """(billable calls, tasks, micro-credits) of one organization since PERIOD_START."""
    totals: Counter[str] = Counter()
    for day in days:
        for event in day.events:
            if event["organization"] != org_uuid or event["time"] < PERIOD_START:
                continue
            data: dict[str, Any] = event["data"]
            if event["type"] == "api.call" and is_billable_status(data["status"]):
                totals["calls"] += data["count"]
            elif event["type"] == "integration.task":
                totals["tasks"] += data["tasks"]
            elif event["type"] == "ai.credit":
                totals["micro"] += round(data["credits"] * 100) * 10_000
    return totals["calls"], totals["tasks"], totals["micro"]


def test_the_demo_database_answers_exactly_what_was_generated(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    days: list[DayOfUsage] = []
    build = build_demo(
        path,
        Settings(database_url=f"sqlite:///{path}"),
        FixedClock(DEFAULT_NOW),
        on_day=lambda usage, _: days.append(usage),
    )
    assert build.totals.api_calls >= 1_000_000
    assert build.totals.events == sum(len(day.events) for day in days)
    tokens = {sign_in.who.split(" ")[0]: sign_in.token for sign_in in build.sign_ins}

    with Harness(f"sqlite:///{path}") as harness:
        listed = harness.graphql(tokens["Ada"], "{ myUsageStatsOrganizations { uuid } }")
        assert {o["uuid"] for o in listed["data"]["myUsageStatsOrganizations"]} == {
            org.uuid for org in ORGANIZATIONS
        }
        for org in ORGANIZATIONS:
            calls, tasks, micro = _expected(days, org.uuid)
            answer = harness.graphql(tokens["Ada"], STATS, {"org": org.uuid, "orgs": [org.uuid]})
            data = answer["data"]
            assert data["apiUsageStats"]["data"][0]["metric"] == calls, org.name
            assert data["integrationsUsageStats"]["tasksConsumed"]["usage"] == tasks, org.name
            combined = data["aiCreditUsageStatsCombined"]
            assert combined["total"]["usage"] == micro_to_float(micro), org.name
            if org.name == "Acme Corp":
                deleted = [a for a in combined["topAgents"] if a["agentId"] == "agt-legacy"]
                assert deleted == [{"agentId": "agt-legacy", "agentName": None}]

        jobs = harness.graphql(
            tokens["Ada"],
            "query($orgs: [ID!]!) { automationsUsageDetailsCombined(organizationUuids: $orgs,"
            " period: current_month) { byOrganization { organizationUuid usage } } }",
            {"orgs": [org.uuid for org in ORGANIZATIONS]},
        )
        month = DEFAULT_NOW.strftime("%Y-%m")
        expected = {org.uuid: 0 for org in ORGANIZATIONS}
        for day in days:
            for event in day.events:
                if event["type"] == "automation.job" and event["time"].startswith(month):
                    expected[event["organization"]] += event["data"]["jobs"]
        rows = jobs["data"]["automationsUsageDetailsCombined"]["byOrganization"]
        assert {row["organizationUuid"]: row["usage"] for row in rows} == expected
        assert expected[ORGANIZATIONS[0].uuid] > 0

        def organizations(token: str) -> list[str]:
            answer = harness.graphql(token, "{ myUsageStatsOrganizations { name } }")
            return [o["name"] for o in answer["data"]["myUsageStatsOrganizations"]]

        assert organizations(tokens["Usage"]) == ["Acme Corp"]
        assert organizations(tokens["Grace"]) == ["Acme Corp"]
        assert organizations(tokens["Linus"]) == []
        denied = harness.graphql(
            tokens["Grace"],
            "query($org: ID!) { aiCreditUsageStats(organizationUuid: $org, period: current_month)"
            " { usage } }",
            {"org": ORGANIZATIONS[0].uuid},
        )
        assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


def test_the_demo_command_builds_and_prints_a_sign_in_link(tmp_path: Path) -> None:
    path = tmp_path / "data" / "demo.db"
    env = {**os.environ, "TALLYBOARD_LOG_FORMAT": "text", "TALLYBOARD_PORT": "8123"}
    result = subprocess.run(
        [sys.executable, "-m", "tallyboard", "demo", "--no-serve", "--path", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"Built .* \d[\d,]* events over \d+ days", result.stderr)
    link = re.search(r"http://127\.0\.0\.1:8123/#token=(tb_pat_\S+)", result.stdout)
    assert link, result.stdout
    key = re.search(r"Ingest key: (tb_ing_\S+)", result.stdout)
    assert key, result.stdout
    assert f"make example TALLYBOARD_INGEST_KEY={key.group(1)}" in result.stdout
    assert path.exists()
