"""Usage per automation and per agent over a day range (``storage/usage_entry_reader``),
on both engines: reading whole months from the monthly rollups and the other days from
the daily ones gives exactly the sum of the daily rows over the range (hypothesis)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from tallyboard.storage import tables as t
from tallyboard.storage import usage_entry_reader as reader
from tallyboard.storage.database import Database
from tallyboard.storage.tables_automation import automation_jobs_daily, automation_jobs_monthly
from tallyboard.storage.usage_entry_reader import EntryKind
from tests.support.rollup_writes import new_org

FIRST = date(2026, 9, 1)
DAYS = st.integers(0, 120).map(lambda n: FIRST + timedelta(days=n))
ROWS = st.dictionaries(
    st.tuples(DAYS, st.sampled_from(["a1", "a2", "b", "z"]), st.sampled_from([1, 2])),
    st.integers(0, 1_000),
    max_size=40,
)


def _write(database: Database, org: int, rows: dict[tuple[date, str, int], int]) -> None:
    """Daily rows and the monthly rows the write path keeps beside them (their sums)."""
    jobs_monthly: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    credits_monthly: dict[tuple[str, int, str], int] = defaultdict(int)
    jobs, credits = [], []
    for (day, entry, resource), value in rows.items():
        label = day.isoformat()
        if resource == 1:  # resource 1 doubles as "an automation's jobs" here
            jobs.append({"org_pk": org, "day": label, "automation_id": entry, "jobs": value,
                         "last_job_at": 1})  # fmt: skip
            jobs_monthly[(label[:7], entry)][0] += value
        credits.append({"org_pk": org, "day": label, "resource": resource, "agent_id": entry,
                        "credits": value})  # fmt: skip
        credits_monthly[(label[:7], resource, entry)] += value
    with database.write() as conn:
        if jobs:
            conn.execute(insert(automation_jobs_daily), jobs)
            conn.execute(
                insert(automation_jobs_monthly),
                [
                    {"org_pk": org, "month": m, "automation_id": e, "jobs": v[0], "last_job_at": 1}
                    for (m, e), v in jobs_monthly.items()
                ],
            )
        if credits:
            conn.execute(insert(t.ai_credits_daily), credits)
            conn.execute(
                insert(t.ai_credits_monthly),
                [
                    {"org_pk": org, "month": m, "resource": r, "agent_id": e, "credits": v}
                    for (m, r, e), v in credits_monthly.items()
                ],
            )


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=ROWS, first=DAYS, length=st.integers(0, 100))
@example(  # a partly covered month on each side of a whole one
    rows={
        (date(2026, 10, 14), "a1", 1): 1,
        (date(2026, 10, 20), "a1", 1): 2,
        (date(2026, 11, 3), "b", 1): 4,
        (date(2026, 11, 3), "b", 2): 8,
        (date(2026, 12, 6), "z", 1): 16,
        (date(2026, 12, 7), "z", 1): 32,
    },
    first=date(2026, 10, 15),
    length=52,
)
def test_usage_equals_the_daily_rows_of_the_range(
    database_url: str, rows: dict[tuple[date, str, int], int], first: date, length: int
) -> None:
    database = Database(database_url)
    try:
        org = new_org(database)
        _write(database, org, rows)
        last = first + timedelta(days=length)
        expected: dict[str, int] = defaultdict(int)
        for (day, entry, resource), value in rows.items():
            if first <= day <= last and resource == 1:  # agents: AI automation only
                expected[entry] += value
        with database.read() as conn:
            for kind in (EntryKind.AUTOMATIONS, EntryKind.AGENTS):
                found = reader.usage(conn, kind, org, first.isoformat(), last.isoformat())
                assert found == dict(expected), kind
    finally:
        database.dispose()
