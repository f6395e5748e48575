"""The combined miss's jobs reader (``storage/combined_entry_reader.py``) reads several
organizations in one statement and gives each exactly its own monthly rows summed, on
both engines."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from tallyboard.storage import combined_entry_reader as many
from tallyboard.storage.database import Database
from tallyboard.storage.tables_automation import automation_jobs_monthly, automations, pipes
from tests.support.rollup_writes import new_org

MONTHS = ["2026-10", "2026-11"]


def _org(database: Database, n: int) -> int:
    org = new_org(database)
    with database.write() as conn:
        conn.execute(
            insert(pipes),
            [
                {"org_pk": org, "pipe_id": f"p{i}", "uuid": f"{org:04d}-{n}-{i}", "name": f"P{i}",
                 "created_at": 0}
                for i in range(2)
            ],
        )  # fmt: skip
        conn.execute(
            insert(automations),
            [
                {"org_pk": org, "automation_id": f"a{i}", "name": f"A{i} of {n}", "deleted": i == 3,
                 "event_pipe": "p1", "created_by": "nobody@x.test" if i else None}
                for i in range(5)
            ],
        )  # fmt: skip
        conn.execute(
            insert(automation_jobs_monthly),
            [  # a0 and a3 ran in the months, a1 before them, a9 is known only from jobs
                {"org_pk": org, "month": m, "automation_id": a, "jobs": j + n, "last_job_at": j}
                for m, a, j in (("2026-10", "a0", 3), ("2026-11", "a0", 4), ("2026-11", "a3", 5),
                                ("2026-09", "a1", 7), ("2026-10", "a9", 1))
            ],
        )  # fmt: skip
    return org


def _jobs_of(conn: Connection, org_pk: int, months: list[str]) -> dict[str, tuple[int, int]]:
    """The reference: one organization's monthly rows summed in Python."""
    m = automation_jobs_monthly
    rows = conn.execute(
        select(m.c.automation_id, m.c.jobs, m.c.last_job_at).where(
            m.c.org_pk == org_pk, m.c.month.in_(months)
        )
    )
    found: dict[str, tuple[int, int]] = {}
    for entry, jobs, last in rows:
        before = found.get(entry, (0, 0))
        found[entry] = (before[0] + jobs, max(before[1], last))
    return found


def test_each_organization_gets_its_own_jobs(database_url: str) -> None:
    database = Database(database_url)
    try:
        orgs = [_org(database, n) for n in range(3)]
        with database.read() as conn:
            jobs = many.monthly_jobs(conn, orgs, MONTHS)
            for org in orgs:
                assert jobs[org] == _jobs_of(conn, org, MONTHS)
                assert set(jobs[org]) == {"a0", "a3", "a9"}
            assert many.monthly_jobs(conn, orgs, []) == {org: {} for org in orgs}
    finally:
        database.dispose()


def test_any_number_of_organizations_and_any_span_of_months(database_url: str) -> None:
    """The jobs statement comes in sizes of eight organizations (the last repeated):
    1, 8, 9 and 10 organizations each read exactly their own jobs, over one, two or
    three months."""
    database = Database(database_url)
    try:
        orgs = [_org(database, n) for n in range(10)]
        spans = (["2026-11"], MONTHS, ["2026-09", *MONTHS])
        with database.read() as conn:
            for size in (1, 8, 9, 10):
                for months in spans:
                    jobs = many.monthly_jobs(conn, orgs[:size], months)
                    assert set(jobs) == set(orgs[:size])
                    for org in orgs[:size]:
                        assert jobs[org] == _jobs_of(conn, org, months)
            assert set(many.monthly_jobs(conn, orgs, spans[2])[orgs[0]]) == {"a0", "a1", "a3", "a9"}
    finally:
        database.dispose()
