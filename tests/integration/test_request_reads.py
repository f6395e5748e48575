"""The request path's read shortcuts keep the answers of the plain path (decision 0009).

- ``Database.read_scope``: every read of a request shares one transaction; a write
  inside the scope ends it first, so later reads see the write.
- ``Policy`` remembers grants under the tenancy generation read with the credential:
  an ``admin apply`` by anyone (here: another ``Database``, as another process would)
  is honoured by the next request.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select

from tallyboard.access.authenticator import Authenticator
from tallyboard.access.policy import Action, Policy
from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.domain.clock import FixedClock
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.documents import role_matrix_document

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.dispose()


def test_reads_of_a_scope_share_one_transaction_and_see_its_writes(database: Database) -> None:
    table = t.instance_secrets
    with database.read_scope():
        with database.read() as first, database.read() as second:
            assert first is second
        with database.write() as conn:
            conn.execute(insert(table).values(name="scope-test", value="v"))
        with database.read() as conn:
            assert conn.execute(select(table.c.value).where(table.c.name == "scope-test")).scalar()
    with database.read() as conn:  # outside a scope: a transaction of its own
        assert conn.execute(select(table.c.value).where(table.c.name == "scope-test")).scalar()


def test_a_failed_read_does_not_spoil_the_rest_of_the_scope(database: Database) -> None:
    with database.read_scope():
        with pytest.raises(Exception), database.read() as conn:  # noqa: B017, PT011
            conn.exec_driver_sql("SELECT no_such_column FROM organizations")
        with database.read() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_remembered_grants_follow_every_apply(database: Database, database_url: str) -> None:
    clock = FixedClock(NOW)
    matrix = role_matrix_document()
    result = Applier(database, clock).apply(parse_document(matrix.document))
    email = matrix.users["admin"]
    token = next(p["token"] for p in result.personal_tokens if p["user"] == email)
    header = f"Bearer {token}"
    authenticator, policy = Authenticator(database, clock), Policy(database)
    org_a = matrix.org_a["uuid"]

    def permitted() -> set[str]:
        principal = authenticator.principal(header)  # each request reads the generation
        assert principal.tenancy_generation is not None
        return set(policy.permitted(principal, Action.VIEW_USAGE_STATS, [org_a]))

    assert permitted() == {org_a}
    assert permitted() == {org_a}  # remembered

    other = Database(database_url)  # another process's view of the same database
    try:
        demoted = {
            "users": [
                {
                    "email": email,
                    "name": "User admin",
                    "memberships": [{"organization": matrix.org_a["id"], "role": "member"}],
                }
            ]
        }
        Applier(other, clock).apply(parse_document(demoted))
        assert permitted() == set()
        promoted = {**demoted}
        promoted["users"] = [
            {
                **demoted["users"][0],
                "memberships": [{"organization": matrix.org_a["id"], "role": "admin"}],
            }
        ]
        Applier(other, clock).apply(parse_document(promoted))
        assert permitted() == {org_a}
    finally:
        other.dispose()
