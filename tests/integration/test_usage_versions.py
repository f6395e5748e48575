"""``usage_versions.stamps`` reads many organizations' stamps in one statement and
gives each exactly what ``stamp`` gives it -- version and tenancy generation, None
parts before the first write -- on both engines."""

from __future__ import annotations

from tallyboard.storage import usage_versions
from tallyboard.storage.database import Database
from tallyboard.storage.tenancy_store import bump_generation
from tallyboard.storage.usage_versions import Stream
from tests.support.rollup_writes import new_org


def _each(database: Database, orgs: list[int], stream: Stream) -> dict[int, usage_versions.Stamp]:
    with database.read() as conn:
        many = usage_versions.stamps(conn, orgs, stream)
        assert many == {org: usage_versions.stamp(conn, org, stream) for org in orgs}
        return many


def test_stamps_are_each_organizations_stamp(database_url: str) -> None:
    database = Database(database_url)
    try:
        a, b, c = (new_org(database) for _ in range(3))
        stream = Stream.AUTOMATION_CATALOG
        with database.read() as conn:
            assert usage_versions.stamps(conn, [], stream) == {}
        before = _each(database, [a, b, c], stream)
        assert {version for version, _ in before.values()} == {None}
        with database.write() as conn:
            usage_versions.bump(conn, database.dialect, stream, [a])
            usage_versions.bump(conn, database.dialect, stream, [a, c])
            usage_versions.bump(conn, database.dialect, Stream.AUTOMATIONS, [b])
        bumped = _each(database, [c, a, b], stream)
        assert [bumped[org][0] for org in (a, b, c)] == [2, None, 1]
        assert list(bumped) == [c, a, b]
        with database.write() as conn:
            bump_generation(conn, "generation-2")
        applied = _each(database, [a, b, c], stream)
        assert {generation for _, generation in applied.values()} == {"generation-2"}
        assert [applied[org][0] for org in (a, b, c)] == [2, None, 1]
        assert _each(database, [b], stream)[b] == (None, "generation-2")
    finally:
        database.dispose()
