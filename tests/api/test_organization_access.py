"""Who sees which organization: the role matrix of ``organization`` and
``myUsageStatsOrganizations`` (spec §1, §4), for users and service accounts."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.support.documents import ROLES, role_matrix_document
from tests.support.harness import Harness

ORG = "query Org($id: ID!) { organization(id: $id) { id uuid name } }"
MINE = "{ myUsageStatsOrganizations { id uuid name } }"
USAGE_STATS_ROLES = {"super_admin", "admin", "Finance viewer"}


@pytest.fixture
def world(any_harness: Harness) -> tuple[Harness, object, dict[str, str], dict[str, str]]:
    matrix = role_matrix_document()
    secrets = any_harness.apply(matrix.document)
    personal = any_harness.personal_tokens(secrets)
    by_user = {role: personal[f"{email}/laptop"] for role, email in matrix.users.items()}
    sa_tokens = any_harness.service_account_tokens(secrets)
    by_account = {role: sa_tokens[name] for role, name in matrix.accounts.items()}
    return any_harness, matrix, by_user, by_account


@pytest.mark.parametrize("principal", ["user", "service_account"])
@pytest.mark.parametrize("role", ROLES)
def test_members_of_every_role_see_their_organization(world, principal: str, role: str) -> None:  # type: ignore[no-untyped-def]
    harness, matrix, users, accounts = world
    token = (users if principal == "user" else accounts)[role]
    answer = harness.graphql(token, ORG, {"id": matrix.org_a["id"]})
    assert answer["data"] == {"organization": matrix.org_a}
    assert "errors" not in answer


@pytest.mark.parametrize("principal", ["user", "service_account"])
@pytest.mark.parametrize("role", ROLES)
def test_usage_stats_organizations_follow_the_permission(world, principal: str, role: str) -> None:  # type: ignore[no-untyped-def]
    harness, matrix, users, accounts = world
    token = (users if principal == "user" else accounts)[role]
    answer = harness.graphql(token, MINE)
    expected = [matrix.org_a] if role in USAGE_STATS_ROLES else []
    assert answer["data"] == {"myUsageStatsOrganizations": expected}
    assert "errors" not in answer


def test_unknown_and_forbidden_organizations_answer_identically(world) -> None:  # type: ignore[no-untyped-def]
    harness, matrix, users, _ = world
    token = users["admin"]
    forbidden = harness.graphql(token, ORG, {"id": matrix.org_c["id"]})
    unknown = harness.graphql(token, ORG, {"id": str(uuid.uuid4().int % 10**9)})
    for answer in (forbidden, unknown):
        assert answer["data"] == {"organization": None}
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "PERMISSION_DENIED"
        assert error["path"] == ["organization"]

    def without_ids(answer: dict[str, Any]) -> dict[str, Any]:
        return {**answer["errors"][0], "extensions": {}}  # correlation ids differ per request

    assert without_ids(forbidden) == without_ids(unknown)


def test_organizations_are_listed_by_name(any_harness: Harness) -> None:
    names = ["Zulu", "alpha", "Bravo", "Alpha"]
    orgs = [{"id": f"77{i}{uuid.uuid4().int % 10**6}", "name": n} for i, n in enumerate(names)]
    email = f"{uuid.uuid4().hex[:8]}@example.test"
    secrets = any_harness.apply(
        {
            "organizations": orgs,
            "users": [
                {
                    "email": email,
                    "name": "Lister",
                    "memberships": [{"organization": o["id"], "role": "admin"} for o in orgs],
                    "personalTokens": [{"name": "t", "billingOrganization": orgs[0]["id"]}],
                }
            ],
        }
    )
    token = any_harness.personal_tokens(secrets)[f"{email}/t"]
    listed = any_harness.graphql(token, "{ myUsageStatsOrganizations { name } }")
    assert [o["name"] for o in listed["data"]["myUsageStatsOrganizations"]] == sorted(names)


def test_a_removed_membership_is_honoured_on_the_next_request(world) -> None:  # type: ignore[no-untyped-def]
    harness, matrix, users, _ = world
    token = users["admin"]
    assert harness.graphql(token, MINE)["data"]["myUsageStatsOrganizations"] == [matrix.org_a]
    email = matrix.users["admin"]
    harness.apply(
        {
            "users": [
                {
                    "email": email,
                    "name": "User admin",
                    "memberships": [{"organization": matrix.org_a["id"], "role": "member"}],
                }
            ]
        }
    )
    assert harness.graphql(token, MINE)["data"]["myUsageStatsOrganizations"] == []
