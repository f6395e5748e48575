"""Reading a tenancy document whole: its valid part, its problems of shape, what they hide."""

from __future__ import annotations

import pytest
import yaml

from tallyboard.admin.draft import read_document
from tallyboard.domain.errors import InvalidInputError


def test_a_valid_document_has_no_problems_and_keeps_its_paths() -> None:
    draft = read_document({"organizations": [{"id": "1", "name": "A"}]})
    assert draft.problems == ()
    assert draft.original_path("organizations[0].roles") == "organizations[0].roles"
    draft.require_valid()  # nothing to raise


def test_the_valid_part_keeps_the_documents_indexes() -> None:
    draft = read_document(
        {
            "users": [
                {"email": "broken"},
                {"email": "b@x.test", "name": "B", "memberships": [{"organization": "1"}, {}]},
                {"email": "c@x.test", "name": "C", "memberships": [{"organization": "1"}]},
            ]
        }
    )
    # The first user is dropped (its key is broken); the second keeps no membership.
    assert [u.email for u in draft.document.users] == ["b@x.test", "c@x.test"]
    assert draft.document.users[0].memberships == []
    assert draft.original_path("users[1].memberships[0].role") == "users[2].memberships[0].role"
    assert draft.original_path("users[0].personalTokens[3].name") == (
        "users[1].personalTokens[3].name"
    )


def test_broken_entries_are_remembered_by_their_keys() -> None:
    draft = read_document(
        {
            "organizations": [
                {"id": "A", "nmae": "typo"},
                {"id": "B", "name": "B", "roles": [{"permissions": ["usage_stats"]}]},
                {"id": "C", "name": "C", "roles": [{"name": "R", "permissions": ["x"]}]},
            ],
            "users": [{"email": "u@x.test", "name": "U", "memberships": [{"role": "admin"}]}],
        }
    )
    damage = draft.damage
    assert damage.org_named("A") and not damage.org_named("Z")
    assert damage.roles_unsure("B")  # a role lost its name
    assert not damage.roles_unsure("C")  # only a permission was removed
    assert damage.members_unsure("u@x.test") and not damage.members_unsure("v@x.test")
    assert {o.id for o in draft.document.organizations} == {"A", "B", "C"}


def test_an_unreadable_list_silences_the_references_it_could_hold() -> None:
    draft = read_document({"organizations": "none", "users": 5, "ingestKeys": [7]})
    assert {p.path for p in draft.problems} == {"organizations", "users", "ingestKeys[0]"}
    damage = draft.damage
    assert damage.org_named("anything") and damage.roles_unsure("anything")
    assert damage.members_unsure("a@x.test") and damage.ingest_key_named("k")


def test_a_self_referencing_yaml_document_is_refused_cleanly() -> None:
    raw = yaml.safe_load("organizations: &o [*o]\nusers: &u {a: *u}\n")
    draft = read_document(raw)
    assert draft.problems
    with pytest.raises(InvalidInputError):
        draft.require_valid()


def test_a_document_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(InvalidInputError, match="mapping"):
        read_document(["organizations"])
