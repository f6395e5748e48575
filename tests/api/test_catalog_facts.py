"""What events say about the catalog, through the ingest API and ``integrationsUsageDetails``
on both engines (issue 11 item 19): an absent optional field states nothing, a present
one changes the catalog when it is newer, whatever order the events arrive in."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.events import ai_credit, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW as NOW
from tests.support.harness import Harness
from tests.support.tenant import Tenant

DETAILS = """query Flows($org: ID!) {
  integrationsUsageDetails(organizationUuid: $org, period: current_month, sort: {by: "name"}) {
    edges { node { id name project { name icon color } runs status } }
  }
}"""
SALES = {"id": "prj-1", "name": "Sales", "icon": "cart", "color": "blue"}


def _at(minutes: int) -> Any:
    return NOW - timedelta(hours=2) + timedelta(minutes=minutes)


class World:
    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.org_id, org_uuid = str(uuid.uuid4().int % 10**9), str(uuid.uuid4())
        secrets = harness.apply(
            {
                "organizations": [{"id": self.org_id, "uuid": org_uuid, "name": "Acme"}],
                "serviceAccounts": [
                    {
                        "organization": self.org_id,
                        "name": "bot",
                        "role": "admin",
                        "tokenLifetime": "1h",
                    }
                ],
                "ingestKeys": [{"name": f"key-{self.org_id}", "organization": self.org_id}],
            }
        )
        self.token = harness.service_account_tokens(secrets)["bot"]
        self.tenant = Tenant.__new__(Tenant)  # the ingest helpers, on this organization
        self.tenant.harness, self.tenant.org = harness, org_uuid
        self.tenant.orgs = [org_uuid]
        self.tenant.key = secrets["ingestKeys"][0]["key"]

    def flows(self) -> dict[str, dict[str, Any]]:
        answer = self.harness.graphql(self.token, DETAILS, {"org": self.tenant.org})
        assert "errors" not in answer, answer
        edges = answer["data"]["integrationsUsageDetails"]["edges"]
        return {edge["node"].pop("id"): edge["node"] for edge in edges}


@pytest.fixture
def world(any_harness: Harness) -> World:
    return World(any_harness)


def _events(org: str) -> list[dict[str, Any]]:
    """Oldest first: the flow's full description, then runs that state less and less."""
    return [
        task_run(org, _at(0), flow_name="Sync CRM", project=SALES, event_id="e0"),
        task_run(org, _at(1), flow_name="Sync CRM v2", event_id="e1"),  # no project
        task_run(org, _at(2), flow_name=None, event_id="e2"),  # neither name nor project
        task_run(  # the project renamed, without icon or color
            org, _at(3), flow_name=None, project={"id": "prj-1", "name": "Sales EU"}, event_id="e3"
        ),
    ]


EXPECTED = {
    "flow-1": {
        "name": "Sync CRM v2",
        "project": {"name": "Sales EU", "icon": "cart", "color": "blue"},
        "runs": 4,
        "status": "ENABLED",
    }
}


@pytest.mark.parametrize("order", [(0, 1, 2, 3), (3, 2, 1, 0), (1, 3, 0, 2)])
def test_absent_fields_state_nothing_in_any_arrival_order(world: World, order: tuple[int]) -> None:
    events = _events(world.tenant.org)
    for index in order:  # one request each: every event is applied on its own
        assert world.tenant.send([events[index]])["accepted"] == 1
    assert world.flows() == EXPECTED


def test_absent_fields_state_nothing_within_one_batch(world: World) -> None:
    assert world.tenant.send(list(reversed(_events(world.tenant.org))))["accepted"] == 4
    assert world.flows() == EXPECTED


def test_a_newer_stated_project_moves_the_flow_and_an_older_one_does_not(world: World) -> None:
    org = world.tenant.org
    ops = {"id": "prj-2", "name": "Ops"}
    world.tenant.send([task_run(org, _at(5), project=SALES), task_run(org, _at(9), project=ops)])
    world.tenant.send([task_run(org, _at(7), project=SALES)])  # late, older than Ops
    assert world.flows()["flow-1"]["project"] == {"name": "Ops", "icon": None, "color": None}


def test_the_documents_project_stands_until_an_event_after_the_apply_states_another(
    world: World,
) -> None:
    org = world.tenant.org
    marketing = {"id": "prj-3", "name": "Marketing", "icon": "megaphone"}
    world.harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "uuid": org,
                    "name": "Acme",
                    "flows": [{"id": "flow-1", "name": "Sync CRM", "project": marketing}],
                }
            ]
        }
    )
    # Events from before the apply (the harness clock is NOW): they lose to the document.
    world.tenant.send([task_run(org, _at(0), flow_name="Old name", project=SALES)])
    world.tenant.send([task_run(org, _at(1), flow_name=None)])
    assert world.flows()["flow-1"] == {
        "name": "Sync CRM",
        "project": {"name": "Marketing", "icon": "megaphone", "color": None},
        "runs": 2,
        "status": "ENABLED",
    }
    later = NOW + timedelta(minutes=1)
    world.tenant.send([task_run(org, later, flow_name=None, project=SALES)])
    assert world.flows()["flow-1"]["project"] == {"name": "Sales", "icon": "cart", "color": "blue"}
    assert world.flows()["flow-1"]["name"] == "Sync CRM"


def test_an_agent_keeps_its_name_when_an_event_does_not_state_one(world: World) -> None:
    org = world.tenant.org
    world.tenant.send([ai_credit(org, _at(0), agent_name="Invoice Processor")])
    world.tenant.send([ai_credit(org, _at(5), agent_name=None)])
    snapshot = rollup_snapshot(world.harness.database_url, org)
    assert snapshot.agent_catalog == {"agt-1": ("Invoice Processor", False)}
