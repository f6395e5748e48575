"""``/oauth/token`` throttles failed attempts per address and per client id, over real
HTTP from several loopback addresses (Linux answers on all of 127.0.0.0/8).

Issue 11, item 15: 874 wrong secrets per second were accepted for checking.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tallyboard.access.oauth_throttle import CLIENT_FACTOR
from tests.support.harness import LiveServer

BURST = 2


@pytest.fixture
def server(sqlite_url: str) -> Iterator[LiveServer]:
    # One failure regained every 100 s: nothing refills while the test runs.
    with LiveServer(sqlite_url, oauth_failure_burst=BURST, oauth_failure_rate=0.01).running() as s:
        yield s


@pytest.fixture
def clients(server: LiveServer) -> dict[str, dict[str, Any]]:
    org = str(uuid.uuid4().int % 10**9)
    secrets = server.apply(
        {
            "organizations": [{"id": org, "name": "Throttle"}],
            "serviceAccounts": [
                {"organization": org, "name": n, "role": "admin", "tokenLifetime": "1h"}
                for n in ("victim", "bystander")
            ],
        }
    )
    return {a["name"]: a for a in secrets["serviceAccounts"]}


def token_request(
    server: LiveServer, source: str, client: dict[str, Any], *, wrong: bool = False
) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(base_url=server.base_url, transport=transport, timeout=10) as http:
        return http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client["clientId"],
                "client_secret": client["clientSecret"] + ("x" if wrong else ""),
            },
        )


def assert_throttled(response: httpx.Response) -> None:
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["error"] == "temporarily_unavailable"
    assert "retry in" in body["error_description"]


def test_one_address_guessing_secrets_is_throttled(
    server: LiveServer, clients: dict[str, dict[str, Any]]
) -> None:
    victim = clients["victim"]
    answers = [token_request(server, "127.0.0.2", victim, wrong=True) for _ in range(BURST + 3)]
    assert [r.status_code for r in answers] == [401] * BURST + [429] * 3
    assert_throttled(answers[-1])
    # Even the right secret waits at that address (it could be the lucky guess)...
    assert_throttled(token_request(server, "127.0.0.2", victim))
    # ...while every other address, for any client, is served.
    assert token_request(server, "127.0.0.3", victim).status_code == 200
    assert token_request(server, "127.0.0.3", clients["bystander"]).status_code == 200


def test_malformed_requests_count_too(server: LiveServer) -> None:
    transport = httpx.HTTPTransport(local_address="127.0.0.4")
    with httpx.Client(base_url=server.base_url, transport=transport, timeout=10) as http:
        codes = [
            http.post("/oauth/token", data={"grant_type": "password"}).status_code
            for _ in range(BURST + 1)
        ]
    assert codes == [400] * BURST + [429]


def test_many_addresses_cannot_lock_out_a_client_that_is_working(
    server: LiveServer, clients: dict[str, dict[str, Any]]
) -> None:
    victim = clients["victim"]
    assert token_request(server, "127.0.0.1", victim).status_code == 200  # its home
    attackers = [f"127.0.1.{i}" for i in range(1, CLIENT_FACTOR + 1)]
    for source in attackers:  # each spends its own burst; together, the client's
        for _ in range(BURST):
            assert token_request(server, source, victim, wrong=True).status_code == 401
    # The client id is now throttled for strangers, even from a fresh address...
    assert_throttled(token_request(server, "127.0.2.1", victim, wrong=True))
    assert_throttled(token_request(server, "127.0.2.1", victim))
    # ...but the address it works from keeps getting tokens, and other clients too.
    for _ in range(3):
        assert token_request(server, "127.0.0.1", victim).status_code == 200
    assert token_request(server, "127.0.2.1", clients["bystander"]).status_code == 200


def test_successes_are_never_throttled(
    server: LiveServer, clients: dict[str, dict[str, Any]]
) -> None:
    codes = {token_request(server, "127.0.0.5", clients["victim"]).status_code for _ in range(10)}
    assert codes == {200}
