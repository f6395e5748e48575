"""``POST /v1/admin/apply``: instance admin token, JSON body, every problem reported."""

from __future__ import annotations

import uuid

from tests.support.harness import Harness


def test_apply_needs_an_instance_admin_token(harness: Harness) -> None:
    document = {"organizations": [{"id": "1", "name": "X"}]}
    for header in ({}, {"Authorization": "Bearer tb_pat_nope"}):
        response = harness.http.post("/v1/admin/apply", json=document, headers=header)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_an_invalid_document_is_422_with_every_problem_and_changes_nothing(
    harness: Harness,
) -> None:
    org = str(uuid.uuid4().int % 10**9)
    response = harness.http.post(
        "/v1/admin/apply",
        json={
            "organizations": [{"id": org, "name": "Fine"}],
            "users": [
                {
                    "email": "a@example.test",
                    "name": "A",
                    "memberships": [{"organization": "missing", "role": "admin"}],
                },
                {
                    "email": "b@example.test",
                    "name": "B",
                    "memberships": [{"organization": org, "role": "no-such-role"}],
                },
            ],
        },
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_INPUT"
    paths = {p["path"] for p in error["problems"]}
    assert paths == {"users[0].memberships[0].organization", "users[1].memberships[0].role"}
    # The valid part was not applied either: the organization does not exist.
    secrets = harness.apply(
        {
            "organizations": [{"id": org, "name": "Fine"}],
            "serviceAccounts": [
                {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    token = harness.service_account_tokens(secrets)["bot"]
    assert harness.graphql(token, "{ myUsageStatsOrganizations { name } }")["data"] == {
        "myUsageStatsOrganizations": [{"name": "Fine"}]
    }


def test_a_body_that_is_not_json_is_a_bad_request(harness: Harness) -> None:
    response = harness.http.post(
        "/v1/admin/apply",
        content=b"organizations: []",
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_secrets_are_returned_once(harness: Harness) -> None:
    org = str(uuid.uuid4().int % 10**9)
    document = {
        "organizations": [{"id": org, "name": "Once"}],
        "serviceAccounts": [
            {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
        ],
        "ingestKeys": [{"name": f"key-{org}", "organization": org}],
    }
    first = harness.apply(document)
    assert len(first["serviceAccounts"]) == 1 and len(first["ingestKeys"]) == 1
    assert harness.apply(document) == {
        "serviceAccounts": [],
        "personalTokens": [],
        "ingestKeys": [],
        "webhooks": [],
    }


def test_an_unknown_permission_is_refused_and_no_role_is_created(harness: Harness) -> None:
    org = str(uuid.uuid4().int % 10**9)
    document = {
        "organizations": [
            {"id": org, "name": "Perms", "roles": [{"name": "Root", "permissions": ["god_mode"]}]}
        ],
        "users": [
            {
                "email": f"root-{org}@example.test",
                "name": "Root",
                "memberships": [{"organization": org, "role": "Root"}],
                "personalTokens": [{"name": "t", "billingOrganization": org}],
            }
        ],
    }
    response = harness.http.post(
        "/v1/admin/apply", json=document, headers={"Authorization": f"Bearer {harness.admin_token}"}
    )
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert [p["path"] for p in problems] == ["organizations[0].roles[0].permissions[0]"]
    assert "god_mode" in problems[0]["reason"] and "usage_stats" in problems[0]["reason"]
    # With a known permission the same document applies, and the role grants exactly it.
    document["organizations"][0]["roles"] = [{"name": "Root", "permissions": ["usage_stats"]}]
    secrets = harness.apply(document)
    token = next(iter(harness.personal_tokens(secrets).values()))
    answer = harness.graphql(token, "{ myUsageStatsOrganizations { id } }")
    assert answer["data"] == {"myUsageStatsOrganizations": [{"id": org}]}


def test_problems_of_shape_and_of_references_come_back_together(any_harness: Harness) -> None:
    org = str(uuid.uuid4().int % 10**9)
    document = {
        "organizations": [{"id": org, "name": "Both", "colour": "blue"}],
        "users": [
            {
                "email": f"both-{org}@example.test",
                "name": "Both",
                "memberships": [
                    {"organization": "missing", "role": "admin"},
                    {"organization": org, "role": "no-such-role"},
                ],
                "personalTokens": [{"name": "t", "billingOrganization": "elsewhere"}],
            }
        ],
        "serviceAccounts": [
            {"organization": org, "name": "b" * 21, "role": "admin", "tokenLifetime": "1h"}
        ],
    }
    response = any_harness.http.post(
        "/v1/admin/apply",
        json=document,
        headers={"Authorization": f"Bearer {any_harness.admin_token}"},
    )
    assert response.status_code == 422
    problems = {p["path"]: p["reason"] for p in response.json()["error"]["problems"]}
    assert set(problems) == {
        "organizations[0].colour",
        "serviceAccounts[0].name",
        "users[0].memberships[0].organization",
        "users[0].memberships[1].role",
        "users[0].personalTokens[0].billingOrganization",
    }
    assert "unknown key" in problems["organizations[0].colour"]
    assert "unknown organization 'missing'" in problems["users[0].memberships[0].organization"]
    # Atomic: the valid organization was not created.
    assert not any_harness.apply({"users": [], "organizations": []})["serviceAccounts"]
    refused = any_harness.http.post(
        "/v1/admin/apply",
        json={"ingestKeys": [{"name": f"k-{org}", "organization": org}]},
        headers={"Authorization": f"Bearer {any_harness.admin_token}"},
    )
    assert refused.status_code == 422
