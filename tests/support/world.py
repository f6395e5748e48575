"""One organization with pipes, automations (one deleted), agents (one deleted), a
user, two service accounts and an ingest key, and the November jobs the usage-details
tests read: the world the automation, export and correction API tests share, so each
of them seeds it the same way instead of importing it from another test module."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support.harness import Harness

__all__ = ["AGENTS", "AUTOMATIONS", "NOVEMBER", "World", "populated"]

NODE = "id name usage action event status tags { name } createdAt updatedAt"
AUTOMATIONS = f"""query Automations($org: ID!, $range: DateRange!, $search: String,
    $filters: FilterParams, $sort: SortCriteria, $first: Int, $after: String) {{
  automationsUsageDetails(organizationUuid: $org, filterDate: $range, search: $search,
      filters: $filters, sort: $sort) {{
    usage final filterDate {{ from to }}
    availableFilters {{ action event status tags pipes {{ uuid name }} }}
    automations(first: $first, after: $after) {{
      totalCount
      edges {{ cursor node {{ {NODE} actionRepo {{ uuid name icon color }}
        eventRepo {{ uuid name }} createdBy {{ id name avatarUrl }} }} }}
      nodes {{ id }}
      pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
    }}
  }}
}}"""
AGENTS = """query AgentsUsageDetails($org: ID!, $range: DateRange!) {
  agentsUsageDetails(organizationUuid: $org, filterDate: $range) {
    usage
    agents { nodes { id name usage status action event actionRepo { uuid name }
      eventRepo { uuid name } createdAt updatedAt } totalCount
      pageInfo { hasNextPage endCursor } }
  }
}"""
NOVEMBER = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
SALES = "0b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e11"
SUPPORT = "1b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e12"


def _auto(id_: str, name: str, action: str, event: str, **more: Any) -> dict[str, Any]:
    return {"id": id_, "name": name, "action": action, "event": event, **more}


class World:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        suffix = uuid.uuid4().hex[:8]
        self.org, self.email = str(uuid.uuid4()), f"ann-{suffix}@acme.test"
        self.org_id = org_id = f"o-{suffix}"
        pipes = [
            {
                "id": "p1",
                "uuid": SALES.replace("0b7c", suffix[:4]),
                "name": "Sales",
                "icon": "cart",
            },
            {"id": "p2", "uuid": SUPPORT.replace("1b7c", suffix[4:]), "name": "Support"},
        ]
        self.sales, self.support = pipes[0]["uuid"], pipes[1]["uuid"]
        automations = [
            _auto(
                "a1",
                "Move won deals",
                "move_card",
                "card_moved",
                actionPipe="p1",
                eventPipe="p2",
                tags=["sales", "crm"],
                createdBy=self.email,
                createdAt="2026-09-02T08:00:00Z",
            ),
            _auto(
                "a2",
                "archive cards",
                "archive_card",
                "card_done",
                status="INACTIVE",
                eventPipe="p1",
                tags=["ops"],
            ),
            _auto("a3", "Zeta", "create_card", "form_submitted"),
            _auto("a4", "Old", "x", "y", deleted=True, tags=["legacy"]),
        ]
        agents = [
            {"id": "agt-1", "name": "Invoice Processor"},
            {"id": "agt-2", "name": "Gone", "deleted": True},
        ]
        secrets = harness.apply(
            {
                "organizations": [
                    {
                        "id": org_id,
                        "uuid": self.org,
                        "name": "Acme",
                        "pipes": pipes,
                        "automations": automations,
                        "agents": agents,
                    }
                ],
                "users": [
                    {
                        "email": self.email,
                        "name": "Ann",
                        "memberships": [{"organization": org_id, "role": "admin"}],
                    }
                ],
                "serviceAccounts": [
                    {
                        "organization": org_id,
                        "name": "boss",
                        "role": "super_admin",
                        "tokenLifetime": "1h",
                    },
                    {
                        "organization": org_id,
                        "name": "viewer",
                        "role": "admin",
                        "tokenLifetime": "1h",
                    },
                ],
                "ingestKeys": [{"name": f"key-{suffix}", "organization": org_id}],
            }
        )
        tokens = harness.service_account_tokens(secrets)
        self.boss, self.viewer = tokens["boss"], tokens["viewer"]
        self.key = secrets["ingestKeys"][0]["key"]

    def send(self, events: list[dict[str, Any]]) -> None:
        response = self.harness.http.post(
            "/v1/events", json=events, headers={"Authorization": f"Bearer {self.key}"}
        )
        assert response.status_code == 200 and not response.json()["rejected"], response.text

    def job(self, automation: str, at: str, jobs: int, name: str | None = None) -> dict[str, Any]:
        data: dict[str, Any] = {"automationId": automation, "jobs": jobs}
        if name is not None:
            data["automationName"] = name
        return {
            "id": uuid.uuid4().hex,
            "source": "s",
            "type": "automation.job",
            "time": at,
            "organization": self.org,
            "data": data,
        }

    def ask(self, token: str | None = None, **variables: Any) -> dict[str, Any]:
        variables.setdefault("range", NOVEMBER)
        return self.harness.graphql(token or self.boss, AUTOMATIONS, {"org": self.org, **variables})

    def details(self, **variables: Any) -> dict[str, Any]:
        answer = self.ask(**variables)
        assert "errors" not in answer, answer
        result: dict[str, Any] = answer["data"]["automationsUsageDetails"]
        return result

    def ids(self, **variables: Any) -> list[str]:
        return [n["id"] for n in self.details(**variables)["automations"]["nodes"]]


def populated(harness: Harness) -> World:
    """A world with the jobs every test here reads."""
    w = World(harness)
    w.send(
        [
            w.job("a1", "2026-11-20T09:00:00Z", 5),
            w.job("a1", "2026-11-01T00:00:00Z", 2),
            w.job("a2", "2026-11-20T10:00:00Z", 3),
            w.job("a4", "2026-10-20T10:00:00Z", 1),
            w.job("a9", "2026-11-21T10:00:00Z", 4, "From events"),
            w.job("a8", "2026-11-21T09:00:00Z", 1),
        ]
    )
    return w
