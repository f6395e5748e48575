"""Control characters in a caller's text, on both engines (issue 11 item 5): a clear
error at every edge, never a 500 (PostgreSQL cannot store or even compare NUL)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest

from tests.support.harness import Harness

ORG_QUERY = "query Org($id: ID!) { organization(id: $id) { id } }"
DETAILS = """query Flows($org: ID!, $search: String) {
  integrationsUsageDetails(organizationUuid: $org, period: current_month, search: $search) {
    totalFlows
  }
}"""


@pytest.fixture
def world(any_harness: Harness) -> dict[str, Any]:
    org = {"id": str(uuid.uuid4().int % 10**9), "uuid": str(uuid.uuid4()), "name": "Acme"}
    secrets = any_harness.apply(
        {
            "organizations": [org],
            "serviceAccounts": [
                {"organization": org["id"], "name": "bot", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    account = secrets["serviceAccounts"][0]
    token = any_harness.service_account_tokens(secrets)["bot"]
    return {"org": org, "account": account, "token": token}


def test_an_organization_id_with_nul_is_denied_like_an_unknown_one(
    any_harness: Harness, world: dict[str, Any]
) -> None:
    token, org = world["token"], world["org"]
    assert any_harness.graphql(token, ORG_QUERY, {"id": org["id"]})["data"] == {
        "organization": {"id": org["id"]}
    }
    unknown = any_harness.graphql(token, ORG_QUERY, {"id": "999999999999"})
    for bad in (f"{org['id']}\x00", f"{org['id']}\x1f", "\x00"):
        answer = any_harness.graphql(token, ORG_QUERY, {"id": bad})
        assert answer["data"] == {"organization": None}
        (error,) = answer["errors"]
        (expected,) = unknown["errors"]
        assert error["extensions"]["code"] == "PERMISSION_DENIED"
        assert error["message"] == expected["message"]


def test_a_search_with_control_characters_is_invalid_input_naming_it(
    any_harness: Harness, world: dict[str, Any]
) -> None:
    token, org = world["token"], world["org"]
    variables = {"org": org["uuid"], "search": "a\x00b"}
    answer = any_harness.graphql(token, DETAILS, variables)
    assert answer["data"] == {"integrationsUsageDetails": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["message"].startswith("search: must not contain control characters (found U+0000)")
    too_long = any_harness.graphql(token, DETAILS, {**variables, "search": "x" * 257})
    assert too_long["errors"][0]["message"].startswith("search: must be at most 256 characters")
    fine = any_harness.graphql(token, DETAILS, {**variables, "search": "Sync CRM 🚀"})
    assert fine["data"] == {"integrationsUsageDetails": {"totalFlows": 0}}


@pytest.mark.parametrize("how", ["form", "json", "basic"])
def test_an_oauth_client_id_with_nul_is_an_rfc_6749_error(
    any_harness: Harness, world: dict[str, Any], how: str
) -> None:
    client_id = f"{world['account']['clientId']}\x00"
    secret = world["account"]["clientSecret"]
    fields = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    if how == "form":
        response = any_harness.http.post("/oauth/token", data=fields)
    elif how == "json":
        response = any_harness.http.post("/oauth/token", json=fields)
    else:
        basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        response = any_harness.http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": "client_id must not contain control characters",
    }


def test_bearer_tokens_with_control_characters_are_the_usual_401(
    any_harness: Harness, world: dict[str, Any]
) -> None:
    for token in (f"{world['token']}\x7f", "tb_sat_\x1f", f"{world['token']}\x85"):
        # Header values travel as latin-1: C1 controls arrive as themselves.
        headers = {"Authorization": f"Bearer {token}".encode("latin-1")}
        answer = any_harness.http.post("/graphql", json={"query": "{__typename}"}, headers=headers)
        assert answer.status_code == 401
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
        ingest = any_harness.http.post("/v1/events", content=b"[]", headers=headers)
        assert ingest.status_code == 401
        assert ingest.json()["error"]["code"] == "UNAUTHORIZED"


def test_an_admin_document_with_control_characters_is_422_with_every_path(
    any_harness: Harness,
) -> None:
    response = any_harness.http.post(
        "/v1/admin/apply",
        json={
            "organizations": [
                {
                    "id": "9\x00",
                    "name": "Nine",
                    "flows": [
                        {"id": "f\x00", "name": "Sync", "project": {"id": "p", "name": "\x1b"}}
                    ],
                    "agents": [{"id": "agt-1", "name": "Bot\x7f"}],
                }
            ],
            "users": [{"email": "a@example.test", "name": "A\x00"}],
            "serviceAccounts": [
                {
                    "organization": "9",
                    "name": "bot",
                    "role": "admin",
                    "tokenLifetime": "1h",
                    "description": "line one\nline two",  # line breaks are fine here
                }
            ],
            "ingestKeys": [{"name": "gw\x00"}],
        },
        headers={"Authorization": f"Bearer {any_harness.admin_token}"},
    )
    assert response.status_code == 422, response.text
    problems = {p["path"]: p["reason"] for p in response.json()["error"]["problems"]}
    assert problems == {
        "organizations[0].id": "must not contain control characters (found U+0000)",
        "organizations[0].flows[0].id": "must not contain control characters (found U+0000)",
        "organizations[0].flows[0].project.name": (
            "must not contain control characters (found U+001B)"
        ),
        "organizations[0].agents[0].name": "must not contain control characters (found U+007F)",
        "users[0].name": "must not contain control characters (found U+0000)",
        "ingestKeys[0].name": "must not contain control characters (found U+0000)",
        # Reported in the same pass (item 18): "9" is not "9\x00", so it names no
        # organization of the document or the database.
        "serviceAccounts[0].organization": "unknown organization '9'",
    }
