"""One tenant's over-long operation name cannot stop anyone's metering (issue 11 item 2).

A real server (uvicorn on a loopback port, its own flusher) receives the calls of two
organizations, one of which names its operations past the documented bound of 256
characters: those requests are refused before execution (not billed), and every
billable call of both organizations is metered exactly -- on PostgreSQL, where such a
name used to poison every later flush, and on SQLite, where it used to be stored as is.
"""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.events import rollup_snapshot
from tests.support.harness import LiveServer

QUERY = "query {name} {{ organization(id: $id) {{ id }} }}"
ORG = "query {name}($id: ID!) {{ organization(id: $id) {{ id }} }}"


def _name(length: int, seed: int) -> str:
    """A valid GraphQL name that no compression shrinks (what PostgreSQL's index holds)."""
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "_"
    return "Op" + "".join(rng.choice(alphabet) for _ in range(length - 2))


@pytest.fixture
def server(database_url: str) -> Iterator[LiveServer]:
    with LiveServer(database_url, flush_interval=0.05).running() as live:
        yield live


def _tenant(server: LiveServer, name: str) -> dict[str, Any]:
    org = {"id": str(uuid.uuid4().int % 10**9), "uuid": str(uuid.uuid4()), "name": name}
    secrets = server.apply(
        {
            "organizations": [org],
            "serviceAccounts": [
                {"organization": org["id"], "name": "bot", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    return {**org, "token": server.service_account_tokens(secrets)["bot"]}


def _call(server: LiveServer, tenant: dict[str, Any], name: str, *, field: bool) -> Any:
    document = ORG.format(name=name)
    return server.graphql_response(
        tenant["token"], document, {"id": tenant["id"]}, operation_name=name if field else None
    )


def _operations(server: LiveServer, tenant: dict[str, Any]) -> dict[str, int]:
    snapshot = rollup_snapshot(server.database_url, tenant["uuid"])
    return {
        value: calls for (_, dim, value), calls in snapshot.api_calls_monthly.items() if dim == 1
    }


def test_an_over_long_operation_name_is_refused_and_every_other_call_is_metered(
    server: LiveServer,
) -> None:
    careless, other = _tenant(server, "Careless"), _tenant(server, "Other")
    for round_ in range(3):  # before and after flushes: nothing may be stuck in between
        for field in (False, True):
            long_name = _name(4_000, seed=round_ * 2 + field)
            refused = _call(server, careless, long_name, field=field)
            assert refused.status_code == 400
            (error,) = refused.json()["errors"]
            assert error["extensions"]["code"] == "BAD_REQUEST"
            assert error["message"] == (
                "operationName: operation names may have at most 256 characters, this one "
                "has 4000; the request was not executed"
            )
            assert _call(server, careless, "Fine", field=field).status_code == 200
            assert _call(server, other, "Other", field=field).status_code == 200
        assert server.flush() in ("applied", "empty")
        assert server.app.state.flusher.pending is None
    assert _operations(server, careless) == {"Fine": 6}
    assert _operations(server, other) == {"Other": 6}


def test_a_name_of_exactly_256_characters_is_metered_as_is(server: LiveServer) -> None:
    tenant = _tenant(server, "Edge")
    name = _name(256, seed=7)
    assert _call(server, tenant, name, field=False).status_code == 200
    assert _call(server, tenant, name[:255], field=True).status_code == 200
    assert _call(server, tenant, name + "x", field=True).status_code == 400
    server.flush()
    assert _operations(server, tenant) == {name: 1, name[:255]: 1}
