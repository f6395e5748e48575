"""Applying tenancy documents: idempotent, atomic, every problem at once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.admin.draft import read_document
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.errors import InvalidInputError
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.documents import role_matrix_document
from tests.support.table_rows import snapshot

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def test_applying_twice_changes_nothing_and_creates_no_new_secrets(database: Database) -> None:
    applier = Applier(database, FixedClock(NOW))
    matrix = role_matrix_document()
    matrix.document["organizations"][0]["settings"] = [
        {"effectiveFrom": "2026-09", "allowances": {"apiCalls": 100}},
        {"allowances": {"aiCredits": 2.5}, "freeAiCredits": None},
    ]
    matrix.document["organizations"][0]["agents"] = [{"id": "a1", "name": "Bot"}]
    matrix.document["organizations"][0]["flows"] = [
        {"id": "f1", "name": "Sync", "project": {"id": "p1", "name": "Sales"}}
    ]
    matrix.document["ingestKeys"] = [{"name": f"gw-{uuid.uuid4().hex[:6]}"}]
    first = applier.apply(parse_document(matrix.document))
    assert len(first.service_accounts) == len(matrix.document["serviceAccounts"])
    assert len(first.personal_tokens) == len(matrix.document["users"])
    before = snapshot(database)
    second = applier.apply(parse_document(matrix.document))
    assert second.secrets() == {
        "serviceAccounts": [],
        "personalTokens": [],
        "ingestKeys": [],
        "webhooks": [],
    }
    assert not second.changes
    assert snapshot(database) == before


def test_a_failing_document_changes_nothing(database: Database) -> None:
    applier = Applier(database, FixedClock(NOW))
    matrix = role_matrix_document()
    applier.apply(parse_document(matrix.document))
    before = snapshot(database)
    broken = role_matrix_document().document  # new, valid entities...
    broken["users"][0]["memberships"].append({"organization": "nope", "role": "admin"})
    broken["serviceAccounts"][0]["role"] = "no-such-role"
    broken["organizations"][0]["uuid"] = matrix.org_a["uuid"]  # ...and three problems
    with pytest.raises(InvalidInputError) as caught:
        applier.apply(parse_document(broken))
    reasons = {p.path: p.reason for p in caught.value.problems}
    assert "unknown organization" in reasons["users[0].memberships[2].organization"]
    assert "no-such-role" in reasons["serviceAccounts[0].role"]
    assert "already used" in reasons["organizations[0].uuid"]
    assert snapshot(database) == before


def test_identity_and_lifetime_cannot_change(database: Database) -> None:
    applier = Applier(database, FixedClock(NOW))
    matrix = role_matrix_document()
    applier.apply(parse_document(matrix.document))
    changed = matrix.document
    changed["organizations"][0]["uuid"] = str(uuid.uuid4())
    changed["serviceAccounts"][0]["tokenLifetime"] = "2h"
    with pytest.raises(InvalidInputError) as caught:
        applier.apply(parse_document(changed))
    paths = {p.path for p in caught.value.problems}
    assert paths == {"organizations[0].uuid", "serviceAccounts[0].tokenLifetime"}


def test_a_custom_role_in_use_cannot_be_removed(database: Database) -> None:
    applier = Applier(database, FixedClock(NOW))
    matrix = role_matrix_document()
    applier.apply(parse_document(matrix.document))
    org = dict(matrix.document["organizations"][0], roles=[])
    with pytest.raises(InvalidInputError) as caught:
        applier.apply(parse_document({"organizations": [org]}))
    reasons = " ".join(p.reason for p in caught.value.problems)
    assert "Finance viewer" in reasons and "Auditor" in reasons


def test_settings_entries_are_stored_as_written(database: Database) -> None:
    applier = Applier(database, FixedClock(NOW))
    org = str(uuid.uuid4().int % 10**9)
    applier.apply(
        parse_document(
            {
                "organizations": [
                    {
                        "id": org,
                        "name": "Settings",
                        "settings": [
                            {"effectiveFrom": "2026-09", "allowances": {"apiCalls": 10}},
                            {"aiCreditAddon": True, "allowances": {"apiCalls": None}},
                        ],
                    }
                ]
            }
        )
    )
    with database.read() as conn:
        rows = conn.execute(
            select(t.organization_settings.c.effective_from, t.organization_settings.c.changes)
            .join(t.organizations, t.organizations.c.pk == t.organization_settings.c.org_pk)
            .where(t.organizations.c.id == org)
            .order_by(t.organization_settings.c.effective_from)
        ).all()
    assert [tuple(r) for r in rows] == [
        ("2026-09", '{"api_calls":10}'),
        ("2026-11", '{"ai_credit_addon":true,"api_calls":null}'),
    ]


def test_problems_of_shape_and_of_references_are_reported_in_one_pass(
    database: Database,
) -> None:
    """Issue 11 item 18: a document with both kinds reports both, with the author's paths,
    changes nothing, and says nothing about what a broken entry could have named."""
    applier = Applier(database, FixedClock(NOW))
    suffix = uuid.uuid4().hex[:6]
    existing, a, b = f"E{suffix}", f"A{suffix}", f"B{suffix}"
    applier.apply(
        read_document(
            {
                "organizations": [{"id": existing, "name": "Existing", "roles": [{"name": "Old"}]}],
                "users": [
                    {
                        "email": f"old-{suffix}@x.test",
                        "name": "Old",
                        "memberships": [{"organization": existing, "role": "Old"}],
                    }
                ],
            }
        )
    )
    before = snapshot(database)
    document = {
        "organizations": [
            {"id": a, "name": "A", "settings": [{"effectiveFrom": "2026-13"}]},
            {"id": b, "nmae": "typo"},  # broken, but its id is still named by the document
            # A role entry without a name: any role of this organization may be that one.
            {"id": existing, "name": "Existing", "roles": [{"name": "New"}, {"permissions": []}]},
        ],
        "users": [
            {"email": "not-an-email", "name": "X"},  # removed: every index after it shifts
            {
                "email": f"a-{suffix}@x.test",
                "name": "A",
                "memberships": [
                    {"organization": a, "rol": "admin"},  # broken membership...
                    {"organization": "nope", "role": "admin"},
                    {"organization": a, "role": "no-such-role"},
                    {"organization": b, "role": "admin"},
                ],
                # ...so whether the user belongs to the billing organization is unknown.
                "personalTokens": [{"name": "t", "billingOrganization": existing}],
            },
            {
                "email": f"b-{suffix}@x.test",
                "memberships": [{"organization": a, "role": "admin"}],
                "personalTokens": [{"name": "t", "billingOrganization": existing}],
            },
        ],
        "serviceAccounts": [
            {"organization": "nowhere", "name": "bot", "role": "admin", "tokenLifetime": "1m"},
        ],
        "ingestKeys": [{"name": "k", "organization": "nowhere", "expiresAt": "soon"}],
    }
    with pytest.raises(InvalidInputError) as caught:
        applier.apply(read_document(document))
    reasons = {p.path: p.reason for p in caught.value.problems}
    assert set(reasons) == {
        # shape
        "organizations[0].settings[0].effectiveFrom",
        "organizations[1].name",
        "organizations[1].nmae",
        "organizations[2].roles[1].name",
        "users[0].email",
        "users[1].memberships[0].role",
        "users[1].memberships[0].rol",
        "users[2].name",
        "serviceAccounts[0].tokenLifetime",
        "ingestKeys[0].expiresAt",
        # references, checked in the same pass
        "users[1].memberships[1].organization",
        "users[1].memberships[2].role",
        "users[2].personalTokens[0].billingOrganization",
        "serviceAccounts[0].organization",
        "ingestKeys[0].organization",
    }
    assert "unknown organization 'nope'" in reasons["users[1].memberships[1].organization"]
    assert "'no-such-role'" in reasons["users[1].memberships[2].role"]
    assert existing in reasons["users[2].personalTokens[0].billingOrganization"]
    assert "unknown organization 'nowhere'" in reasons["serviceAccounts[0].organization"]
    # Shape first, then references.
    paths = [p.path for p in caught.value.problems]
    assert paths.index("ingestKeys[0].expiresAt") < paths.index(
        "users[1].memberships[1].organization"
    )
    assert snapshot(database) == before


def test_a_valid_draft_applies_like_a_parsed_document(database: Database) -> None:
    matrix = role_matrix_document()
    result = Applier(database, FixedClock(NOW)).apply(read_document(matrix.document))
    assert len(result.service_accounts) == len(matrix.document["serviceAccounts"])
