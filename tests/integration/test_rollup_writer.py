"""The rollup writer: additive upserts, and the per-organization monthly name cap."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select, text

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import OTHER, AiResource, ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.rollup_writes import monthly, new_org


def test_deltas_add_up_across_writes_in_every_rollup(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=100)
    for _ in range(3):
        deltas = RollupDeltas()
        deltas.add_api_calls((org, date(2026, 11, 2), "GetCards", "bot"), 2)
        deltas.add_api_calls((org, date(2026, 11, 3), "GetCards", "John - laptop"), 1)
        deltas.add_flow_run((org, date(2026, 11, 2), "flow-1"), 5, 1_000)
        deltas.add_flow_run((org, date(2026, 11, 2), "flow-1"), 1, 900)
        deltas.add_credits((org, date(2026, 11, 2), AiResource.AI_AUTOMATION, "agt"), 100_000)
        with database.write() as conn:
            writer.apply(conn, deltas)
    assert monthly(database, org, ApiDimension.TOTAL) == {"": 9}
    assert monthly(database, org, ApiDimension.OPERATION_NAME) == {"GetCards": 9}
    assert monthly(database, org, ApiDimension.TOKEN) == {"bot": 6, "John - laptop": 3}
    with database.read() as conn:
        flows = conn.execute(
            text("SELECT tasks, runs, last_run_at FROM flow_usage_monthly WHERE org_pk = :o"),
            {"o": org},
        ).all()
        credits = conn.execute(
            text("SELECT credits FROM ai_credits_daily WHERE org_pk = :o"), {"o": org}
        ).scalar_one()
        totals = conn.execute(
            text("SELECT tasks, runs FROM task_usage_daily WHERE org_pk = :o"), {"o": org}
        ).one()
    assert [tuple(r) for r in flows] == [(18, 6, 1_000)]
    assert credits == 300_000
    assert tuple(totals) == (18, 6)
    database.dispose()


def test_operation_names_beyond_the_monthly_cap_count_as_other(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=3)
    for name in ["A", "B", "C", "D", "A", "E", "Not specified"]:
        deltas = RollupDeltas()
        deltas.add_api_calls((org, date(2026, 11, 5), name, "bot"), 10)
        with database.write() as conn:
            writer.apply(conn, deltas)
    deltas = RollupDeltas()
    deltas.add_api_calls((org, date(2026, 12, 1), "E", "bot"), 1)  # a new month starts afresh
    with database.write() as conn:
        writer.apply(conn, deltas)
    names = monthly(database, org, ApiDimension.OPERATION_NAME)
    assert names == {"A": 20, "B": 10, "C": 10, OTHER: 20, "Not specified": 10, "E": 1}
    # (D and E were refused in November; E is admitted again in December.)
    assert monthly(database, org, ApiDimension.TOTAL) == {"": 71}
    database.dispose()


@pytest.mark.postgres
def test_concurrent_writers_never_overshoot_the_cap(postgres_url: str) -> None:
    database = Database(postgres_url)
    org = new_org(database)
    errors: list[BaseException] = []

    def writer_thread(prefix: str) -> None:
        writer = RollupWriter(database.dialect, operation_name_cap=5)
        try:
            for i in range(8):
                deltas = RollupDeltas()
                deltas.add_api_calls((org, date(2026, 11, 5), f"{prefix}{i}", "bot"), 1)
                with database.write() as conn:
                    writer.apply(conn, deltas)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=writer_thread, args=(p,)) for p in "wxyz"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    names = monthly(database, org, ApiDimension.OPERATION_NAME)
    assert len(set(names) - {OTHER}) == 5
    assert sum(names.values()) == 32
    database.dispose()


_AWKWARD = [
    'a "quoted" name',
    "back\\slash\\",
    "{braces}, commas",
    "  spaces  ",
    "NULL",
    "null",
    "é 漢字 🙂",
    "tab\tand\nnewline",
    "'single'",
    '\\"',
]


def test_any_client_chosen_text_reaches_the_rollups_unchanged(database_url: str) -> None:
    # Bulk upserts pass whole columns at once (on PostgreSQL as array literals): names
    # with quotes, backslashes, braces or the word NULL must arrive exactly as sent.
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=100)
    deltas = RollupDeltas()
    for i, name in enumerate(_AWKWARD):
        deltas.add_api_calls((org, date(2026, 11, 2), name, name), i + 1)
        deltas.add_flow_run((org, date(2026, 11, 2), name), i, 1_000)
        deltas.add_credits((org, date(2026, 11, 2), AiResource.AI_AUTOMATION, name), i)
    with database.write() as conn:
        writer.apply(conn, deltas)
    expected = {name: i + 1 for i, name in enumerate(_AWKWARD)}
    assert monthly(database, org, ApiDimension.OPERATION_NAME) == expected
    assert monthly(database, org, ApiDimension.TOKEN) == expected
    with database.read() as conn:
        flows = dict(
            conn.execute(
                select(t.flow_usage_monthly.c.flow_id, t.flow_usage_monthly.c.tasks).where(
                    t.flow_usage_monthly.c.org_pk == org
                )
            ).all()
        )
        agents = dict(
            conn.execute(
                select(t.ai_credits_daily.c.agent_id, t.ai_credits_daily.c.credits).where(
                    t.ai_credits_daily.c.org_pk == org
                )
            ).all()
        )
    assert flows == {name: i for i, name in enumerate(_AWKWARD)}
    assert agents == {name: i for i, name in enumerate(_AWKWARD)}
    database.dispose()
