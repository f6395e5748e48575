"""Two populated organizations and a user who administers both, asking
``automationsUsageDetailsCombined`` (spec §9) with a personal token."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.harness import Harness
from tests.support.world import populated

__all__ = ["COMBINED", "Pair"]

COMBINED = """query Combined($orgs: [ID!]!, $period: PeriodFilter!) {
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: $period) {
    total { usage }
    byOrganization { organizationUuid organizationName usage lastUpdatedAt }
    byPipe { pipe { uuid name icon color } organizationUuid organizationName usage lastUpdatedAt }
    topAutomations { id name usage action event status actionRepo { name } eventRepo { name }
      createdAt createdBy { name } updatedAt organizationUuid organizationName }
    filterDate { from to }
    partial
    final
  }
}"""


class Pair:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.a, self.b = populated(harness), populated(harness)
        email = f"boss-{uuid.uuid4().hex[:8]}@acme.test"
        secrets = harness.apply(
            {
                "users": [
                    {
                        "email": email,
                        "name": "Boss",
                        "memberships": [
                            {"organization": self.a.org_id, "role": "admin"},
                            {"organization": self.b.org_id, "role": "admin"},
                        ],
                        "personalTokens": [{"name": "t", "billingOrganization": self.a.org_id}],
                    }
                ]
            }
        )
        self.token = secrets["personalTokens"][0]["token"]

    def ask(self, orgs: list[str], period: str = "current_month") -> dict[str, Any]:
        return self.harness.graphql(self.token, COMBINED, {"orgs": orgs, "period": period})

    def combined(self, orgs: list[str], period: str = "current_month") -> dict[str, Any]:
        answer = self.ask(orgs, period)
        assert "errors" not in answer, answer
        result: dict[str, Any] = answer["data"]["automationsUsageDetailsCombined"]
        return result
