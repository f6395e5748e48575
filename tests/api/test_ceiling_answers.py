"""Figures at the ceiling come back exact through GraphQL, on both engines (decision 0012).

Every monthly figure of 25 organizations is brought to (or just below) the ceiling for
the three months of ``last_3_months`` -- mostly by the rollup writer, the last units by
real events -- and the largest answers the API can give are read back: one
organization's three months, and 25 organizations' combined totals (75 x 10^14 calls,
below 2^53; about 7.5 x 10^9 credits, within half a micro-credit of the exact sum).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from tallyboard.domain.rollup import FIGURE_CEILING, RollupDeltas
from tallyboard.domain.usage import AiResource
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.harness import Harness
from tests.support.usage import ai_credit, api_call, integration_task, record_events

C = FIGURE_CEILING
ORGS = 25
MONTHS = (date(2026, 9, 10), date(2026, 10, 10), date(2026, 11, 10))
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)

SINGLE = """
query Single($org: ID!) {
  apiUsageStats(organizationUuid: $org, period: last_3_months) {
    data { dimension metric } limit
  }
  integrationsUsageStats(organizationUuid: $org, period: last_3_months) {
    tasksConsumed { usage limit }
  }
  integrationsUsageDetails(organizationUuid: $org, period: last_3_months) {
    totalTasks edges { node { id tasks runs } }
  }
  aiCreditUsageStats(organizationUuid: $org, period: last_3_months) {
    usage limit aiAutomation { usage } assistants { usage }
  }
}"""

API_COMBINED = """
query Combined($orgs: [ID!]!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: last_3_months) {
    total { usage limit } byOrganization { organizationUuid usage }
  }
}"""

AI_COMBINED = """
query Combined($orgs: [ID!]!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: last_3_months) {
    total { usage limit aiAutomationUsage assistantsUsage }
  }
}"""


def answer(harness: Harness, token: str, query: str, variables: dict[str, Any]) -> Any:
    response = harness.graphql_response(token, query, variables)
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return body["data"]


def micro(i: int) -> int:
    """Organization i's micro-credits in each month: just below the ceiling, odd."""
    return C - 7 * i - 1


def credits_text(micro_credits: int) -> Decimal:
    return Decimal(micro_credits) / 1_000_000


def exact(value: float) -> Decimal:
    """What a client keeping credits to the micro-credit reads from a float answer."""
    return Decimal(repr(value)).quantize(Decimal("0.000001"))


@pytest.fixture
def world(any_harness: Harness) -> tuple[Harness, list[str], str]:
    suffix = uuid.uuid4().hex[:6]
    allowances = {"apiCalls": C, "integrationTasks": C, "aiCredits": C // 1_000_000}
    orgs: list[dict[str, Any]] = [
        {
            "id": f"c{suffix}-{i}",
            "uuid": str(uuid.uuid4()),
            "name": f"Ceiling {i:02d}",
            "settings": [{"effectiveFrom": "2026-09", "allowances": allowances}],
        }
        for i in range(ORGS)
    ]
    email = f"boss-{suffix}@example.test"
    secrets = any_harness.apply(
        {
            "organizations": orgs,
            "users": [
                {
                    "email": email,
                    "name": "Boss",
                    "memberships": [{"organization": o["id"], "role": "super_admin"} for o in orgs],
                    "personalTokens": [{"name": "laptop", "billingOrganization": orgs[0]["id"]}],
                }
            ],
        }
    )
    token = any_harness.personal_tokens(secrets)[f"{email}/laptop"]
    uuids = [o["uuid"] for o in orgs]
    database = Database(any_harness.database_url)
    writer = RollupWriter(database.dialect, operation_name_cap=100)
    with database.read() as conn:
        o = t.organizations
        pks = dict(conn.execute(o.select().with_only_columns(o.c.uuid, o.c.pk)).all())
    with database.write() as conn:
        for i, org_uuid in enumerate(uuids):
            pk = pks[org_uuid]
            for day in MONTHS:
                last = i == 0 and day == MONTHS[-1]  # the last units come as events
                deltas = RollupDeltas()
                deltas.add_api_calls((pk, day, "Seeded", "seed"), C - i - (3 if last else 0))
                deltas.add_flow_run((pk, day, "flow-1"), C - 2 * i - (3 if last else 0), 0)
                deltas.add_credits(
                    (pk, day, AiResource.ASSISTANT, ""), micro(i) - (3_000_000 if last else 0)
                )
                writer.apply(conn, deltas)
    database.dispose()
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    result = record_events(
        any_harness,
        [
            api_call(uuids[0], at, count=3),
            api_call(uuids[0], at, count=1),  # one past the ceiling
            integration_task(uuids[0], at, "flow-1", 3),
            ai_credit(uuids[0], at, 3, agent_id="agt-1"),
            ai_credit(uuids[0], at, 0.000002, agent_id="agt-1"),  # one micro-credit past
        ],
    )
    assert result["accepted"] == 3
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (1, "INVALID_EVENT"),
        (4, "INVALID_EVENT"),
    ]
    return any_harness, uuids, token


def test_one_organizations_three_months_at_the_ceiling_are_exact(
    world: tuple[Harness, list[str], str],
) -> None:
    harness, uuids, token = world
    response = harness.graphql_response(token, SINGLE, {"org": uuids[0]})
    body: dict[str, Any] = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    data = body["data"]
    assert data["apiUsageStats"] == {
        "data": [{"dimension": "Counter", "metric": 3 * C}],
        "limit": 3 * C,  # allowances at the ceiling too (the most apply accepts)
    }
    assert data["integrationsUsageStats"]["tasksConsumed"] == {"usage": 3 * C, "limit": 3 * C}
    details = data["integrationsUsageDetails"]
    assert details["totalTasks"] == 3 * C
    assert details["edges"] == [{"node": {"id": "flow-1", "tasks": 3 * C, "runs": 4}}]
    ai = data["aiCreditUsageStats"]
    # 299999999.999997: 15 significant digits, so the float prints as exactly that.
    assert Decimal(repr(ai["usage"])) == credits_text(3 * micro(0))
    assert Decimal(repr(ai["assistants"]["usage"])) == credits_text(3 * micro(0) - 3_000_000)
    assert ai["aiAutomation"]["usage"] == 3.0
    assert ai["limit"] == 3e8
    assert "299999999.999997" in response.text


def test_twenty_five_organizations_at_the_ceiling_combine_exactly(
    world: tuple[Harness, list[str], str],
) -> None:
    harness, uuids, token = world
    api = answer(harness, token, API_COMBINED, {"orgs": uuids})["apiUsageStatsCombined"]
    expected_calls = [3 * (C - i) for i in range(ORGS)]
    assert api["byOrganization"] == [
        {"organizationUuid": u, "usage": calls}
        for u, calls in zip(uuids, expected_calls, strict=True)
    ]
    assert api["total"] == {"usage": sum(expected_calls), "limit": 75 * C}
    assert sum(expected_calls) < 2**53
    ai = answer(harness, token, AI_COMBINED, {"orgs": uuids})["aiCreditUsageStatsCombined"]
    total = ai["total"]
    expected_micro = sum(3 * micro(i) for i in range(ORGS))
    assert exact(total["usage"]) == credits_text(expected_micro)
    assert exact(total["assistantsUsage"]) == credits_text(expected_micro - 3_000_000)
    assert total["aiAutomationUsage"] == 3.0
    assert total["limit"] == 7.5e9
