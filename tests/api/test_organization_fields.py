"""The Organization fields public clients read (spec §9): planName, role, membersCount,
pipesCount, createdAt -- with the document a public client sends."""

from __future__ import annotations

import pytest

from tests.support.harness import Harness
from tests.support.organization import GET_ORGANIZATION
from tests.support.world import World


def test_the_public_clients_organization_lookup(any_harness: Harness) -> None:
    world = World(any_harness)
    answer = any_harness.graphql(
        world.boss, GET_ORGANIZATION, {"id": world.org_id}, "GetOrganization"
    )
    assert "errors" not in answer, answer
    assert answer["data"]["organization"] == {
        "id": world.org_id,
        "uuid": world.org,
        "name": "Acme",
        "planName": None,
        "role": "super_admin",
        "membersCount": 1,  # Ann; service accounts are not members
        "pipesCount": 2,
        "createdAt": "2026-11-21T10:30:00Z",
    }
    viewer = any_harness.graphql(world.viewer, GET_ORGANIZATION, {"id": world.org_id})
    assert viewer["data"]["organization"]["role"] == "admin"


def test_plan_names_follow_the_settings_in_effect_and_custom_roles_show_their_name(
    harness: Harness,
) -> None:
    world = World(harness)
    secrets = harness.apply(
        {
            "organizations": [
                {
                    "id": world.org_id,
                    "name": "Acme",
                    "settings": [
                        {"effectiveFrom": "2026-10", "planName": "Business"},
                        {"effectiveFrom": "2026-12", "planName": "Enterprise"},
                    ],
                    "roles": [{"name": "Finance viewer", "permissions": ["usage_stats"]}],
                }
            ],
            "users": [
                {
                    "email": "fin@acme.test",
                    "name": "Fin",
                    "memberships": [{"organization": world.org_id, "role": "Finance viewer"}],
                    "personalTokens": [{"name": "t", "billingOrganization": world.org_id}],
                }
            ],
        }
    )
    token = secrets["personalTokens"][0]["token"]
    answer = harness.graphql(token, GET_ORGANIZATION, {"id": world.org_id})
    org = answer["data"]["organization"]
    assert (org["planName"], org["role"], org["membersCount"]) == ("Business", "Finance viewer", 2)
    listed = harness.graphql(token, "{ myUsageStatsOrganizations { name role pipesCount } }")
    assert listed["data"]["myUsageStatsOrganizations"] == [
        {"name": "Acme", "role": "Finance viewer", "pipesCount": 2}
    ]


@pytest.mark.parametrize("field", ["planName", "role", "membersCount", "pipesCount", "createdAt"])
def test_unknown_organizations_stay_denied(harness: Harness, field: str) -> None:
    world = World(harness)
    answer = harness.graphql(world.boss, f'{{ organization(id: "nope") {{ id {field} }} }}')
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
