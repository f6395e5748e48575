"""A small tenancy for the cache tests: three organizations, one viewer, some credits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tests.support.usage import ai_credit, record_events

__all__ = ["COMBINED", "SINGLE", "Tenancy", "seed", "tenancy"]

COMBINED = """
query Combined($orgs: [ID!]!, $period: PeriodFilter!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit aiAutomationUsage assistantsUsage }
    byOrganization { organizationUuid usage limit aiAutomation { usage } }
    topAgents { agentId agentName organizationUuid creditsProcessed }
    filterDate { from to }
    partial
  }
}"""
SINGLE = """
query Single($org: ID!) {
  aiCreditUsageStats(organizationUuid: $org, period: current_month) { usage }
}"""


@dataclass
class Tenancy:
    document: dict[str, Any]
    orgs: dict[str, dict[str, str]]
    email: str

    def with_role(self, org_key: str, role: str) -> dict[str, Any]:
        """The same document with the viewer's role in one organization changed."""
        org_id = self.orgs[org_key]["id"]
        user = dict(self.document["users"][0])
        user["memberships"] = [
            {**m, "role": role} if m["organization"] == org_id else m for m in user["memberships"]
        ]
        return {**self.document, "users": [user]}


def tenancy() -> Tenancy:
    suffix = uuid.uuid4().hex[:6]
    orgs = {
        key: {
            "id": str(uuid.uuid4().int % 10**9),
            "uuid": str(uuid.uuid4()),
            "name": f"{key} {suffix}",
        }
        for key in "ABC"
    }
    email = f"viewer-{suffix}@example.test"
    document = {
        "organizations": [
            {**org, "settings": [{"effectiveFrom": "2026-09", "allowances": {"aiCredits": 100}}]}
            for org in orgs.values()
        ],
        "users": [
            {
                "email": email,
                "name": "Viewer",
                "memberships": [
                    {"organization": orgs["A"]["id"], "role": "super_admin"},
                    {"organization": orgs["B"]["id"], "role": "admin"},
                    {"organization": orgs["C"]["id"], "role": "admin"},
                ],
                "personalTokens": [{"name": "t", "billingOrganization": orgs["A"]["id"]}],
            }
        ],
    }
    return Tenancy(document, orgs, email)


def seed(target: Any, orgs: dict[str, dict[str, str]], at: datetime) -> None:
    events = [
        ai_credit(orgs["A"]["uuid"], at, 1.25, agent_id="agt-a", agent_name="Alpha"),
        ai_credit(orgs["B"]["uuid"], at, 2.5, agent_id="agt-b", agent_name="Beta"),
        ai_credit(orgs["C"]["uuid"], at, 4),
    ]
    assert record_events(target, events)["accepted"] == 3
