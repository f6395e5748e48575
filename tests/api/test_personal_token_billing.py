"""A personal token bills its billing organization only while its user belongs to it.

Issue 11, item 9: removing the membership used to leave the token working, its calls
still metered to the organization the user had left.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import delete, select

from tallyboard.admin.document import parse_document
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.harness import Harness

WHO = "{ myUsageStatsOrganizations { id } }"
TOKENS = """query($org: ID!) {
  apiUsageStats(organizationUuid: $org, period: current_month, dimension: token) {
    data { dimension metric }
  }
}"""


def _org() -> dict[str, str]:
    return {"id": str(uuid.uuid4().int % 10**9), "uuid": str(uuid.uuid4()), "name": "Org"}


class World:
    """Organizations A and B, John (admin of both) with a token billed to each, and an
    admin service account of A that reads A's usage."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.a, self.b = _org(), _org()
        self.email = f"john-{uuid.uuid4().hex[:6]}@example.test"
        secrets = harness.apply(
            {
                "organizations": [self.a, self.b],
                "users": [self.user([self.a, self.b], [("laptop", self.a), ("ci", self.b)])],
                "serviceAccounts": [
                    {
                        "organization": self.a["id"],
                        "name": "auditor",
                        "role": "admin",
                        "tokenLifetime": "1h",
                    }
                ],
            }
        )
        tokens = harness.personal_tokens(secrets)
        self.laptop = tokens[f"{self.email}/laptop"]
        self.ci = tokens[f"{self.email}/ci"]
        self.auditor = harness.service_account_tokens(secrets)["auditor"]

    def user(
        self,
        orgs: list[dict[str, str]],
        tokens: list[tuple[str, dict[str, str]]] | None = None,
    ) -> dict[str, Any]:
        user: dict[str, Any] = {
            "email": self.email,
            "name": "John",
            "memberships": [{"organization": o["id"], "role": "admin"} for o in orgs],
        }
        if tokens is not None:
            user["personalTokens"] = [
                {"name": name, "billingOrganization": org["id"]} for name, org in tokens
            ]
        return user

    def status(self, token: str, harness: Harness | None = None) -> int:
        response = (harness or self.harness).graphql_response(token, WHO)
        return int(response.status_code)

    def calls_billed_to_a(self) -> dict[str, int]:
        self.harness.flush()
        answer = self.harness.graphql(self.auditor, TOKENS, {"org": self.a["uuid"]})
        return {i["dimension"]: i["metric"] for i in answer["data"]["apiUsageStats"]["data"]}


@pytest.fixture
def world(any_harness: Harness) -> World:
    return World(any_harness)


def test_leaving_the_billing_organization_stops_the_token_at_once(world: World) -> None:
    harness = world.harness
    assert world.status(world.laptop) == 200
    before = world.calls_billed_to_a()
    assert before["John - laptop"] == 1

    # John leaves A; the document does not mention his tokens at all.
    response = harness.http.post(
        "/v1/admin/apply",
        json={"users": [world.user([world.b])]},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 200  # the apply succeeds
    assert response.json() == {
        "serviceAccounts": [],
        "personalTokens": [],
        "ingestKeys": [],
        "webhooks": [],
    }

    refused = harness.graphql_response(world.laptop, WHO)
    assert refused.status_code == 401
    assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert world.status(world.ci) == 200  # the token billed to B is untouched
    after = world.calls_billed_to_a()
    assert after["John - laptop"] == before["John - laptop"]  # A is billed nothing more


def test_coming_back_does_not_revive_the_old_secret_but_a_listed_token_is_reissued(
    world: World,
) -> None:
    harness = world.harness
    harness.apply({"users": [world.user([world.b])]})
    assert world.status(world.laptop) == 401

    # Re-added: the old secret stays dead (it may be in hands that left with John)...
    again = harness.apply({"users": [world.user([world.a, world.b])]})
    assert again["personalTokens"] == []
    assert world.status(world.laptop) == 401
    # ...and listing the token issues a new secret, like any rotation after a revoke.
    listed = harness.apply(
        {"users": [world.user([world.a, world.b], [("laptop", world.a), ("ci", world.b)])]}
    )
    assert [(t["user"], t["name"]) for t in listed["personalTokens"]] == [(world.email, "laptop")]
    assert world.status(listed["personalTokens"][0]["token"]) == 200
    assert world.status(world.ci) == 200


def test_every_process_refuses_the_token_on_its_next_request(
    world: World, database_url: str
) -> None:
    """A second application instance on the same database (another process, with its
    own remembered grants) honours the removal on its very next request."""
    with Harness(database_url) as other:
        assert world.status(world.laptop, other) == 200
        world.harness.apply({"users": [world.user([world.b])]})
        assert world.status(world.laptop, other) == 401
        assert world.status(world.ci, other) == 200


def test_a_token_whose_membership_vanished_outside_an_apply_is_refused_and_swept(
    world: World, database_url: str
) -> None:
    """Tokens orphaned before this rule existed: refused at once, revoked by the next
    apply (whatever it is about), and reported by it."""
    database = Database(database_url)
    try:
        with database.write() as conn:
            a_pk = conn.execute(
                select(t.organizations.c.pk).where(t.organizations.c.id == world.a["id"])
            ).scalar_one()
            conn.execute(delete(t.memberships).where(t.memberships.c.org_pk == a_pk))
        assert world.status(world.laptop) == 401
        result = world.harness.services.applier.apply(parse_document({"organizations": [_org()]}))
        assert [
            (d.user_email, d.name, d.billing_org_id) for d in result.disabled_personal_tokens
        ] == [(world.email, "laptop", world.a["id"])]
        assert "'laptop' of " + world.email in result.summary()
        with database.read() as conn:
            revoked = conn.execute(
                select(t.personal_tokens.c.revoked_at).where(t.personal_tokens.c.name == "laptop")
            ).scalar_one()
        assert revoked is not None
    finally:
        database.dispose()
