"""Every credential kind: valid works; expired, revoked, wrong-kind and malformed all
answer the same ``UNAUTHORIZED`` (HTTP 401), so a caller learns nothing from the failure."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest

from tallyboard.access.tokens import CredentialKind, hash_secret, new_secret
from tallyboard.storage.credential_store import insert_admin_token, revoke_admin_token
from tallyboard.storage.database import Database
from tests.support.harness import Harness

QUERY = "{ myUsageStatsOrganizations { id } }"


@pytest.fixture
def creds(harness: Harness) -> dict[str, Any]:
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(
        {
            "organizations": [{"id": org, "name": "Creds"}],
            "users": [
                {
                    "email": "pat@example.test",
                    "name": "Pat",
                    "memberships": [{"organization": org, "role": "admin"}],
                    "personalTokens": [
                        {"name": "main", "billingOrganization": org},
                        {
                            "name": "short",
                            "billingOrganization": org,
                            "expiresAt": "2026-11-21T11:00:00Z",
                        },
                    ],
                }
            ],
            "serviceAccounts": [
                {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "10m"}
            ],
            "ingestKeys": [{"name": f"gw-{org}"}],
        }
    )
    personal = harness.personal_tokens(secrets)
    return {
        "org": org,
        "pat": personal["pat@example.test/main"],
        "short_pat": personal["pat@example.test/short"],
        "client": secrets["serviceAccounts"][0],
        "sat": harness.service_account_tokens(secrets)["bot"],
        "ingest": secrets["ingestKeys"][0]["key"],
    }


def assert_unauthorized(harness: Harness, header: dict[str, str]) -> dict[str, Any]:
    response = harness.http.post("/graphql", json={"query": QUERY}, headers=header)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    body: dict[str, Any] = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "UNAUTHORIZED"
    assert error["message"] == "Missing or invalid credential"
    assert error["extensions"]["correlation_id"] == response.headers["x-correlation-id"]
    return body


def test_service_account_access_tokens_and_personal_tokens_are_accepted(
    harness: Harness, creds: dict[str, Any]
) -> None:
    for token in (creds["sat"], creds["pat"]):
        answer = harness.graphql(token, QUERY)
        assert answer["data"] == {"myUsageStatsOrganizations": [{"id": creds["org"]}]}


def test_personal_tokens_carry_a_deprecation_warning_and_access_tokens_do_not(
    harness: Harness, creds: dict[str, Any]
) -> None:
    warnings = harness.graphql(creds["pat"], QUERY)["extensions"]["warnings"]
    assert warnings and "deprecated" in warnings[0]["message"]
    assert "extensions" not in harness.graphql(creds["sat"], QUERY)


@pytest.mark.parametrize(
    "header",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Bearer tb_sat_" + "A" * 43},
        {"Authorization": "Bearer tb_pat_" + "A" * 43},
        {"Authorization": "Bearer " + "tb_sat_" + "x" * 500},
    ],
    ids=[
        "missing",
        "empty",
        "no-token",
        "basic",
        "malformed",
        "unknown-sat",
        "unknown-pat",
        "oversized",
    ],
)
def test_missing_and_malformed_credentials_are_unauthorized(
    harness: Harness, header: dict[str, str]
) -> None:
    assert_unauthorized(harness, header)


@pytest.mark.parametrize("kind", ["ingest", "admin", "client-secret"])
def test_credentials_of_another_kind_are_unauthorized(
    harness: Harness, creds: dict[str, Any], kind: str
) -> None:
    token = {
        "ingest": creds["ingest"],
        "admin": harness.admin_token,
        "client-secret": creds["client"]["clientSecret"],
    }[kind]
    assert_unauthorized(harness, {"Authorization": f"Bearer {token}"})


def test_a_valid_looking_secret_of_each_kind_is_unknown(harness: Harness) -> None:
    for kind in CredentialKind:
        assert_unauthorized(harness, {"Authorization": f"Bearer {new_secret(kind)}"})


def test_access_tokens_expire_after_the_accounts_lifetime(
    harness: Harness, creds: dict[str, Any]
) -> None:
    header = {"Authorization": f"Bearer {creds['sat']}"}
    harness.clock.set(harness.clock.now() + timedelta(minutes=9, seconds=59))
    assert harness.http.post("/graphql", json={"query": QUERY}, headers=header).status_code == 200
    harness.clock.set(harness.clock.now() + timedelta(seconds=1))
    assert_unauthorized(harness, header)


def test_personal_tokens_expire_at_their_expiry(harness: Harness, creds: dict[str, Any]) -> None:
    header = {"Authorization": f"Bearer {creds['short_pat']}"}
    assert harness.http.post("/graphql", json={"query": QUERY}, headers=header).status_code == 200
    harness.clock.set(harness.clock.now() + timedelta(minutes=30))
    assert_unauthorized(harness, header)


def test_revoked_personal_tokens_are_unauthorized_and_can_be_reissued(
    harness: Harness, creds: dict[str, Any]
) -> None:
    revoke = {"revoke": {"personalTokens": [{"user": "pat@example.test", "name": "main"}]}}
    assert harness.apply(revoke)["personalTokens"] == []
    assert_unauthorized(harness, {"Authorization": f"Bearer {creds['pat']}"})
    reissued = harness.apply(
        {
            "users": [
                {
                    "email": "pat@example.test",
                    "name": "Pat",
                    "personalTokens": [{"name": "main", "billingOrganization": creds["org"]}],
                }
            ]
        }
    )
    (fresh,) = reissued["personalTokens"]
    assert fresh["token"] != creds["pat"]
    assert harness.graphql(fresh["token"], QUERY)["data"] is not None


def test_revoking_a_service_account_revokes_its_tokens_and_its_secret(
    harness: Harness, creds: dict[str, Any]
) -> None:
    harness.apply({"revoke": {"serviceAccounts": [{"organization": creds["org"], "name": "bot"}]}})
    assert_unauthorized(harness, {"Authorization": f"Bearer {creds['sat']}"})
    response = harness.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": creds["client"]["clientId"],
            "client_secret": creds["client"]["clientSecret"],
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def ingest_status(harness: Harness, token: str) -> int:
    response = harness.http.post(
        "/v1/events", content=b"[]", headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
        assert response.json()["error"]["message"] == "Missing or invalid credential"
    return int(response.status_code)


def test_ingest_keys_expire_and_are_revoked(harness: Harness, creds: dict[str, Any]) -> None:
    name = f"expiring-{creds['org']}"
    secrets = harness.apply({"ingestKeys": [{"name": name, "expiresAt": "2026-11-21T11:00:00Z"}]})
    key = secrets["ingestKeys"][0]["key"]
    assert ingest_status(harness, key) == 200
    harness.clock.set(harness.clock.now() + timedelta(hours=1))
    assert ingest_status(harness, key) == 401
    assert ingest_status(harness, creds["ingest"]) == 200
    harness.apply({"revoke": {"ingestKeys": [{"name": f"gw-{creds['org']}"}]}})
    assert ingest_status(harness, creds["ingest"]) == 401
    for wrong_kind in (creds["pat"], creds["sat"], harness.admin_token):
        assert ingest_status(harness, wrong_kind) == 401


def admin_status(harness: Harness, token: str) -> int:
    response = harness.http.post(
        "/v1/admin/apply", json={}, headers={"Authorization": f"Bearer {token}"}
    )
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "UNAUTHORIZED"
    return int(response.status_code)


def test_admin_tokens_expire_and_are_revoked(harness: Harness, creds: dict[str, Any]) -> None:
    database = Database(harness.database_url)
    now = int(harness.clock.now().timestamp())
    expiring, lasting = (
        new_secret(CredentialKind.ADMIN_TOKEN),
        new_secret(CredentialKind.ADMIN_TOKEN),
    )
    with database.write() as conn:
        insert_admin_token(conn, hash_secret(expiring), "short", now, now + 60)
        lasting_pk = insert_admin_token(conn, hash_secret(lasting), "long", now)
    assert admin_status(harness, expiring) == admin_status(harness, lasting) == 200
    harness.clock.set(harness.clock.now() + timedelta(seconds=60))
    assert admin_status(harness, expiring) == 401
    assert admin_status(harness, lasting) == 200
    with database.write() as conn:
        assert revoke_admin_token(conn, lasting_pk, now)
    database.dispose()
    assert admin_status(harness, lasting) == 401
    for wrong_kind in (creds["pat"], creds["sat"], creds["ingest"]):
        assert admin_status(harness, wrong_kind) == 401
