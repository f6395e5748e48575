"""``tallyboard verify`` (section 11): every figure recomputed from the ledger -- raw
events that are not void, adjustments, metering flushes -- equals what is stored; a
damaged figure is listed exactly, and ``repair`` restores it, also after a repair that
was killed half-way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tallyboard.ingest.verification import Verifier
from tallyboard.storage import figure_store
from tests.support.corrections import adjust, correct, void
from tests.support.events import ai_credit, api_call, task_run
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.rollup_rows import rows, top_agents
from tests.support.tenant import Tenant
from tests.support.usage import automation_job

NOW = DEFAULT_NOW


def verifier(harness: Harness) -> Verifier:
    found: Verifier = harness.app.state.components.verifier
    return found


def report(harness: Harness, organization: str | None = None, **options: Any) -> Any:
    check = verifier(harness)
    return check.verify(check.targets(organization, None), **options).as_json()


def _world(harness: Harness) -> tuple[Tenant, str]:
    tenant = Tenant(harness)
    org = tenant.org
    october = datetime(2026, 10, 28, 9, 0, tzinfo=UTC)
    events = [
        api_call(org, NOW - timedelta(days=1), event_id="a1", count=4),
        api_call(org, october, event_id="a2", operation="Old"),
        task_run(org, NOW - timedelta(days=2), event_id="t1", flow="f1", tasks=3),
        task_run(org, NOW - timedelta(days=2, hours=1), event_id="t2", flow="f1", tasks=2),
        ai_credit(org, NOW - timedelta(days=3), event_id="c1", credits=1.25),
        ai_credit(org, NOW - timedelta(days=3), event_id="c2", agent="agt-2", credits=2),
        ai_credit(org, NOW - timedelta(days=4), event_id="c3", resource="assistant", agent=None),
        automation_job(org, NOW - timedelta(days=1, hours=3), "au1", 2, event_id="j1"),
        automation_job(org, NOW - timedelta(days=1, hours=2), "au1", 3, event_id="j2"),
        automation_job(org, NOW - timedelta(days=1, hours=1), "au1", 4, event_id="j3"),
        automation_job(org, NOW - timedelta(days=2), "au2", 1, event_id="j4"),
        automation_job(org, october, "au1", 5, event_id="j5"),
    ]
    assert tenant.send(events)["accepted"] == len(events)
    entries = [
        void(org, events[2]),
        adjust(org, "adj", "integration.task", {"flowId": "f2", "tasks": 6}),
        # The job events count minus the voided one (not its day's latest), plus
        # the adjustment's jobs.
        void(org, events[8]),
        adjust(org, "adj-jobs", "automation.job", {"automationId": "au2", "jobs": 10}),
    ]
    assert correct(harness, entries)["applied"] == len(entries)
    return tenant, org


def _short_id(harness: Harness, org_uuid: str) -> str:
    with harness.services.database.read() as conn:
        return str(
            conn.execute(
                text("SELECT id FROM organizations WHERE uuid = :u"), {"u": org_uuid}
            ).scalar_one()
        )


def test_the_ledger_equals_every_stored_figure(any_harness: Harness) -> None:
    harness = any_harness
    _, org = _world(harness)
    secrets = harness.apply(
        {
            "organizations": [{"id": _short_id(harness, org), "name": "Metered"}],
            "serviceAccounts": [
                {
                    "organization": _short_id(harness, org),
                    "name": f"bot-{uuid.uuid4().hex[:6]}",
                    "role": "admin",
                    "tokenLifetime": "1h",
                }
            ],
        }
    )
    token = next(iter(harness.service_account_tokens(secrets).values()))
    for _ in range(3):
        harness.graphql(token, "query Ping { __typename }")
    assert harness.flush() == "applied"
    assert report(harness) == {"differences": [], "unverifiable": []}


def test_damaged_figures_are_listed_exactly_and_repaired(any_harness: Harness) -> None:
    harness = any_harness
    _, org = _world(harness)
    short = _short_id(harness, org)
    database = harness.services.database
    with database.write() as conn:
        pk = conn.execute(text("SELECT pk FROM organizations WHERE uuid = :u"), {"u": org})
        org_pk = pk.scalar_one()
        conn.execute(
            text(
                "UPDATE api_calls_daily SET calls = calls + 7 "
                "WHERE org_pk = :p AND dimension = 2 AND day = :d"
            ),
            {"p": org_pk, "d": (NOW - timedelta(days=1)).date().isoformat()},
        )
        conn.execute(
            text("DELETE FROM flow_usage_monthly WHERE org_pk = :p AND flow_id = 'f2'"),
            {"p": org_pk},
        )
        conn.execute(
            text(
                "UPDATE automation_jobs_monthly SET jobs = jobs + 1 "
                "WHERE org_pk = :p AND month = '2026-11' AND automation_id = 'au1'"
            ),
            {"p": org_pk},
        )
    found = report(harness, short)
    day = (NOW - timedelta(days=1)).date().isoformat()
    assert [
        (d["month"], d["figure"], d["expected"], d["stored"]) for d in found["differences"]
    ] == [
        ("2026-11", f"api_calls_daily[{day},token=gateway-bot].calls", 4, 11),
        ("2026-11", "automation_jobs_monthly[2026-11,automation=au1].jobs", 6, 7),
        ("2026-11", "flow_usage_monthly[2026-11,flow=f2].tasks", 6, 0),
    ]
    assert {d["organization"] for d in found["differences"]} == {short}

    check = verifier(harness)
    targets = check.targets(short, None)
    real_write = figure_store.write_rows
    calls: list[int] = []

    def dies_on_the_second_month(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process is killed mid-way
        real_write(*args)

    # Damage October too, so the repair has two months to write.
    with database.write() as conn:
        conn.execute(
            text(
                "UPDATE usage_totals_monthly SET calls = 99 WHERE org_pk = :p AND month = '2026-10'"
            ),
            {"p": org_pk},
        )
        conn.execute(
            text("DELETE FROM automation_jobs_daily WHERE org_pk = :p AND day < '2026-11-01'"),
            {"p": org_pk},
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(figure_store, "write_rows", dies_on_the_second_month)
        with pytest.raises(KeyboardInterrupt):
            check.verify(sorted(targets, key=lambda t: t[3], reverse=True), repair=True)
    # November repaired, October not: its calls total and its job row (jobs, last job).
    assert [d["month"] for d in report(harness, short)["differences"]] == ["2026-10"] * 3
    repaired = check.verify(targets, repair=True)
    assert repaired.repaired == 1
    assert report(harness, short) == {"differences": [], "unverifiable": []}
    entries = harness.http.get(
        "/v1/admin/audit",
        params={"action": "verify.repair"},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    ).json()["entries"]
    assert [(e["organization"], e["details"]["month"]) for e in entries] == [
        (org, "2026-10"),
        (org, "2026-11"),
    ]


def test_months_older_than_the_horizon_are_not_verifiable(harness: Harness) -> None:
    _, org = _world(harness)
    short = _short_id(harness, org)
    with harness.services.database.write() as conn:
        conn.execute(
            text(
                "INSERT INTO usage_totals_monthly (org_pk, month, calls, tasks, runs, credits) "
                "SELECT pk, '2024-01', 5, 0, 0, 0 FROM organizations WHERE uuid = :u"
            ),
            {"u": org},
        )
    assert report(harness, short)["unverifiable"] == [{"organization": short, "month": "2024-01"}]


_DAMAGE = [
    # (statement, the figure it damages) -- one per kind of rollup verify covers.
    (
        "UPDATE api_calls_monthly SET calls = calls + 1 "
        "WHERE org_pk = :p AND month = '2026-11' AND dimension = 1 AND value = 'GetCards'",
        "api_calls_monthly[2026-11,operation_name=GetCards].calls",
    ),
    (
        "UPDATE ai_credits_monthly SET credits = credits + 1 "
        "WHERE org_pk = :p AND month = '2026-11' AND resource = 2",
        "ai_credits_monthly[2026-11,assistant].credits",
    ),
    (
        "UPDATE ai_credits_daily SET credits = 1 WHERE org_pk = :p AND agent_id = 'agt-2'",
        "ai_credits_daily[{d3},ai_automation=agt-2].credits",
    ),
    (
        "UPDATE task_usage_daily SET runs = runs + 1 WHERE org_pk = :p AND day = '{d2}'",
        "task_usage_daily[{d2}].runs",
    ),
    (
        "UPDATE flow_usage_daily SET last_run_at = 1 WHERE org_pk = :p AND flow_id = 'f1'",
        "flow_usage_daily[{d2},flow=f1].last_run_at",
    ),
    (
        "UPDATE automation_jobs_daily SET jobs = jobs + 1 "
        "WHERE org_pk = :p AND day = '{d1}' AND automation_id = 'au1'",
        "automation_jobs_daily[{d1},automation=au1].jobs",
    ),
    (
        "UPDATE automation_jobs_monthly SET last_job_at = 5 "
        "WHERE org_pk = :p AND month = '2026-11' AND automation_id = 'au2'",
        "automation_jobs_monthly[2026-11,automation=au2].last_job_at",
    ),
    (
        "UPDATE usage_totals_monthly SET jobs = jobs + 100 WHERE org_pk = :p AND month = '2026-11'",
        "usage_totals_monthly[2026-11].jobs",
    ),
    (
        "UPDATE usage_totals_monthly SET credits = credits + 3 "
        "WHERE org_pk = :p AND month = '2026-11'",
        "usage_totals_monthly[2026-11].credits",
    ),
]


def test_every_kind_of_rollup_is_verified_and_repaired(any_harness: Harness) -> None:
    """Damage one figure of every rollup table (jobs included); a spurious row too."""
    harness = any_harness
    _, org = _world(harness)
    short = _short_id(harness, org)
    database = harness.services.database
    days = {f"d{n}": (NOW - timedelta(days=n)).date().isoformat() for n in (1, 2, 3)}
    with database.read() as conn:
        org_pk = conn.execute(
            text("SELECT pk FROM organizations WHERE uuid = :u"), {"u": org}
        ).scalar_one()
        before = figure_store.read_figures(conn, org_pk, "2026-11")
    with database.write() as conn:
        for statement, _ in _DAMAGE:
            assert conn.execute(text(statement.format(**days)), {"p": org_pk}).rowcount == 1
        conn.execute(
            text(
                "INSERT INTO automation_jobs_daily (org_pk, day, automation_id, jobs, last_job_at) "
                "VALUES (:p, :d, 'ghost', 3, 0)"
            ),
            {"p": org_pk, "d": days["d1"]},
        )
    with database.read() as conn:
        damaged = figure_store.read_figures(conn, org_pk, "2026-11")
    listed = report(harness, short)["differences"]
    ghost = f"automation_jobs_daily[{days['d1']},automation=ghost].jobs"
    assert sorted(d["figure"] for d in listed) == sorted(
        [figure.format(**days) for _, figure in _DAMAGE] + [ghost]
    )
    assert [d["figure"] for d in listed] == sorted(d["figure"] for d in listed)
    changed = {f for f in set(before) | set(damaged) if before.get(f, 0) != damaged.get(f, 0)}
    assert {(d["expected"], d["stored"]) for d in listed} == {
        (before.get(f, 0), damaged.get(f, 0)) for f in changed
    }

    assert verifier(harness).verify(verifier(harness).targets(short, None), repair=True).repaired
    with database.read() as conn:
        assert figure_store.read_figures(conn, org_pk, "2026-11") == before
    assert report(harness, short) == {"differences": [], "unverifiable": []}


def test_a_damaged_zero_credit_row_is_repaired_to_zero_not_deleted(any_harness: Harness) -> None:
    """A zero-credit run's row is a fact the statistics show (``topAgents`` ranks the
    agent at 0, as corrections keep it): repair writes the row back at 0."""
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    org, reference = tenant.orgs
    zero = ai_credit(org, NOW - timedelta(days=2), event_id="zero", agent="agt-1", credits=0)
    assert tenant.send([zero, {**zero, "organization": reference}])["accepted"] == 2
    assert rows(harness, org) == rows(harness, reference)
    assert top_agents(harness, org) == [("agt-1", 0)]
    with harness.services.database.write() as conn:
        for table in ("ai_credits_daily", "ai_credits_monthly"):
            conn.execute(
                text(
                    f"UPDATE {table} SET credits = 5 "
                    "WHERE org_pk = (SELECT pk FROM organizations WHERE uuid = :u)"
                ),
                {"u": org},
            )
    short = _short_id(harness, org)
    day = (NOW - timedelta(days=2)).date().isoformat()
    assert [
        (d["figure"], d["expected"], d["stored"]) for d in report(harness, short)["differences"]
    ] == [
        (f"ai_credits_daily[{day},ai_automation=agt-1].credits", 0, 5),
        ("ai_credits_monthly[2026-11,ai_automation=agt-1].credits", 0, 5),
    ]
    assert report(harness, short, repair=True)["differences"]
    assert report(harness, short) == {"differences": [], "unverifiable": []}
    assert rows(harness, org) == rows(harness, reference)
    assert top_agents(harness, org) == [("agt-1", 0)]
