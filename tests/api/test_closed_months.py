"""Closed months (section 11): closing and reopening, ``PERIOD_CLOSED`` for events,
adjustments and voids dated in a closed month, late metering still counted (and
audited), and ``final`` on every statistics answer, at once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.corrections import adjust, correct, void
from tests.support.events import api_call, iso, rollup_snapshot
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.months import set_month
from tests.support.tenant import Tenant

NOW = DEFAULT_NOW  # 2026-11-21: October is closable, November is not
OCTOBER = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)


def audit_actions(harness: Harness) -> list[str]:
    response = harness.http.get(
        "/v1/admin/audit", headers={"Authorization": f"Bearer {harness.admin_token}"}
    )
    return [e["action"] for e in response.json()["entries"]]


def test_close_and_reopen_answer_the_state_and_are_audited_once(any_harness: Harness) -> None:
    harness = any_harness
    for _ in range(2):
        response = set_month(harness, "2026-10", "close")
        assert response.status_code == 200
        assert response.json() == {"month": "2026-10", "closed": True}
    response = set_month(harness, "2026-10", "reopen")
    assert response.json() == {"month": "2026-10", "closed": False}
    assert audit_actions(harness) == ["month.reopen", "month.close"]


@pytest.mark.parametrize("month", ["2026-11", "2026-12", "2026-13", "2026-1", "October", "0000-01"])
def test_a_month_that_has_not_ended_or_is_not_a_month_is_422(harness: Harness, month: str) -> None:
    for change in ("close", "reopen"):
        response = set_month(harness, month, change)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "INVALID_INPUT"
        assert "month" in response.json()["error"]["message"]


def test_a_month_closes_only_an_hour_after_its_end(harness: Harness) -> None:
    harness.clock.set(datetime(2026, 12, 1, 0, 59, 59, tzinfo=UTC))
    assert set_month(harness, "2026-11", "close").status_code == 422
    harness.clock.set(datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    assert set_month(harness, "2026-11", "close").json() == {"month": "2026-11", "closed": True}


def test_only_the_admin_token_may_close(harness: Harness) -> None:
    tenant = Tenant(harness)
    for token in (tenant.key, "tb_adm_nope"):
        response = set_month(harness, "2026-10", "close", token=token)
        assert response.status_code == 401
    assert harness.http.post("/v1/admin/months/2026-10/close").status_code == 401


def test_events_adjustments_and_voids_in_a_closed_month_are_period_closed(
    any_harness: Harness,
) -> None:
    harness = any_harness
    tenant = Tenant(harness)
    org = tenant.org
    stored = api_call(org, OCTOBER, event_id="before-close", count=2)
    assert tenant.send([stored])["accepted"] == 1
    before = rollup_snapshot(harness.database_url, org)
    set_month(harness, "2026-10", "close")

    late = api_call(org, OCTOBER, event_id="late")
    result = tenant.send([late, api_call(org, NOW - timedelta(hours=1))])
    assert result["accepted"] == 1
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [(0, "PERIOD_CLOSED")]
    assert result["rejected"][0]["message"].startswith("time:")
    backfill = harness.http.post(
        "/v1/admin/backfill",
        json=[api_call(org, datetime(2026, 10, 2, tzinfo=UTC))],
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    ).json()
    assert [r["code"] for r in backfill["rejected"]] == ["PERIOD_CLOSED"]
    entries = [
        void(org, stored),
        adjust(org, "adj", "api.call", {"tokenName": "t"}, time=iso(OCTOBER)),
        adjust(org, "adj-nov", "api.call", {"tokenName": "t"}),
    ]
    outcome = correct(harness, entries)
    assert outcome["applied"] == 1
    assert [(r["index"], r["code"]) for r in outcome["rejected"]] == [
        (0, "PERIOD_CLOSED"),
        (1, "PERIOD_CLOSED"),
    ]
    after = rollup_snapshot(harness.database_url, org).api_calls
    assert {k: v for k, v in after.items() if k[0].startswith("2026-10")} == {
        k: v for k, v in before.api_calls.items() if k[0].startswith("2026-10")
    }

    set_month(harness, "2026-10", "reopen")
    assert tenant.send([late])["accepted"] == 1
    assert correct(harness, [void(org, stored)])["applied"] == 1


QUERY = """query Q($org: ID!, $orgs: [ID!]!, $period: PeriodFilter!) {
  apiUsageStats(organizationUuid: $org, period: $period) { final }
  apiUsageStatsDaily(organizationUuid: $org, period: $period) { final }
  apiUsageStatsCombined(organizationUuids: $orgs, period: $period) { final partial }
  integrationsUsageStats(organizationUuid: $org, period: $period) { final }
  integrationsUsageDetails(organizationUuid: $org, period: $period) { final }
  aiCreditUsageStats(organizationUuid: $org, period: $period) { final }
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) { final }
}"""


def finals(harness: Harness, token: str, org: str, period: str) -> set[bool]:
    variables = {"org": org, "orgs": [org], "period": period}
    answer = harness.graphql(token, QUERY, variables)
    assert "errors" not in answer, answer
    return {field["final"] for field in answer["data"].values()}


def test_final_follows_closing_and_reopening_at_once_in_every_answer(
    any_harness: Harness,
) -> None:
    harness = any_harness
    org_id = str(uuid.uuid4().int % 10**9)
    org = str(uuid.uuid4())
    secrets = harness.apply(
        {
            "organizations": [{"id": org_id, "uuid": org, "name": "Final"}],
            "serviceAccounts": [
                {
                    "organization": org_id,
                    "name": "bot",
                    "role": "super_admin",
                    "tokenLifetime": "1h",
                },
            ],
        }
    )
    token = harness.service_account_tokens(secrets)["bot"]
    assert finals(harness, token, org, "last_month") == {False}
    set_month(harness, "2026-10", "close")
    assert finals(harness, token, org, "last_month") == {True}
    assert finals(harness, token, org, "current_month") == {False}
    assert finals(harness, token, org, "last_3_months") == {False}
    set_month(harness, "2026-10", "reopen")
    assert finals(harness, token, org, "last_month") == {False}


def test_late_metering_of_a_closed_month_is_counted_and_audited(harness: Harness) -> None:
    org_id = str(uuid.uuid4().int % 10**9)
    org = str(uuid.uuid4())
    secrets = harness.apply(
        {
            "organizations": [{"id": org_id, "uuid": org, "name": "Late"}],
            "serviceAccounts": [
                {"organization": org_id, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    harness.clock.set(datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    token = harness.service_account_tokens(secrets)["bot"]
    harness.flush()
    for _ in range(3):
        harness.graphql(token, "query Ping { __typename }")
    harness.clock.set(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))
    set_month(harness, "2026-11", "close")
    assert harness.flush() == "applied"  # the delayed flush still counts: they were served
    november = rollup_snapshot(harness.database_url, org).api_calls_monthly
    assert november[("2026-11", 0, "")] == 3
    entries = harness.http.get(
        "/v1/admin/audit",
        params={"action": "metering.late"},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    ).json()["entries"]
    assert [(e["organization"], e["details"]) for e in entries] == [
        (org, {"month": "2026-11", "calls": 3})
    ]
    assert entries[0]["actor"] == {"kind": "system", "name": "metering"}
