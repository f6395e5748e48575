"""``POST /oauth/token`` end to end over HTTP: the client-credentials grant (RFC 6749 §4.4)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.harness import LiveServer


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    with LiveServer(database_url).running() as live:
        yield live


@pytest.fixture
def client(server: LiveServer) -> dict[str, Any]:
    org = str(uuid.uuid4().int % 10**9)
    secrets = server.apply(
        {
            "organizations": [{"id": org, "name": "OAuth Org"}],
            "serviceAccounts": [
                {
                    "organization": org,
                    "name": "HR Integration Bot",
                    "role": "admin",
                    "tokenLifetime": "30d",
                }
            ],
        }
    )
    account: dict[str, Any] = secrets["serviceAccounts"][0]
    return {"org": org, **account}


def test_form_encoded_grant_issues_a_bearer_token_for_the_accounts_lifetime(
    server: LiveServer, client: dict[str, Any]
) -> None:
    response = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 30 * 24 * 3600
    assert body["access_token"].startswith("tb_sat_")
    answer = server.graphql(body["access_token"], "{ myUsageStatsOrganizations { id } }")
    assert answer["data"] == {"myUsageStatsOrganizations": [{"id": client["org"]}]}


def test_json_bodies_and_http_basic_authentication_work_too(
    server: LiveServer, client: dict[str, Any]
) -> None:
    as_json = httpx.post(
        f"{server.base_url}/oauth/token",
        json={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
    )
    basic = base64.b64encode(f"{client['clientId']}:{client['clientSecret']}".encode()).decode()
    with_basic = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert as_json.status_code == with_basic.status_code == 200
    assert as_json.json()["access_token"] != with_basic.json()["access_token"]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (
            {"grant_type": "password", "username": "u", "password": "p"},
            400,
            "unsupported_grant_type",
        ),
        ({"client_id": "x", "client_secret": "y"}, 400, "invalid_request"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        (
            {"grant_type": "client_credentials", "client_id": "tbc_nope", "client_secret": "s"},
            401,
            "invalid_client",
        ),
    ],
)
def test_rfc_6749_errors(server: LiveServer, body: dict[str, str], status: int, error: str) -> None:
    response = httpx.post(f"{server.base_url}/oauth/token", data=body)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_a_wrong_secret_is_invalid_client(server: LiveServer, client: dict[str, Any]) -> None:
    response = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"] + "x",
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "basic" in response.headers["www-authenticate"].lower()


def test_malformed_json_is_invalid_request(server: LiveServer) -> None:
    response = httpx.post(
        f"{server.base_url}/oauth/token",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
