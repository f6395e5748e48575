"""The property of section 11: for any sequence of events, voids, adjustments, closes
and reopens, on both engines, every figure -- and every row, a row holding zero
included -- equals what the accepted, non-void ledger alone gives (an organization
that only ever received what survived), and ``verify`` finds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.support.corrections import adjust, correct, usage_only, void
from tests.support.events import ai_credit, api_call, iso, rollup_snapshot, task_run
from tests.support.harness import Harness
from tests.support.rollup_rows import rows, top_agents
from tests.support.tenant import Tenant
from tests.support.usage import automation_job

START = datetime(2026, 10, 30, 0, 0, tzinfo=UTC)  # inside the live window of 2026-11-21

_event = st.tuples(
    st.sampled_from(["api", "task", "credit", "job"]),
    st.integers(0, 4 * 24),  # hours after START: few days, so entries share rows; two months
    st.sampled_from(["a", "b"]),  # operation / flow / agent
    st.integers(1, 5),
)
_step = st.one_of(
    st.tuples(st.just("event"), _event),
    st.tuples(st.just("void"), st.integers(0, 50)),
    st.tuples(st.just("adjust"), _event, st.integers(-6, 6)),
    st.tuples(st.just("close"), st.booleans()),
)


def _as_event(org: str, spec: tuple[str, int, str, int], event_id: str) -> dict[str, Any]:
    kind, hours, name, amount = spec
    at = START + timedelta(hours=hours)
    if kind == "api":
        return api_call(org, at, operation=name, count=amount, event_id=event_id)
    if kind == "task":
        return task_run(org, at, flow=name, tasks=amount, event_id=event_id)
    if kind == "job":
        return automation_job(org, at, name, amount, event_id=event_id)
    # Credits may be 0: a row holding nothing but still listed must stay listed.
    return ai_credit(org, at, agent=name, credits=amount - 1, event_id=event_id)


def _as_adjustment(org: str, spec: tuple[str, int, str, int], sign: int, adj_id: str) -> Any:
    kind, hours, name, _ = spec
    time = iso(START + timedelta(hours=hours))
    if kind == "api":
        data: dict[str, Any] = {"operationName": name, "tokenName": "gateway-bot", "count": sign}
        return adjust(org, adj_id, "api.call", data, time=time)
    if kind == "task":
        return adjust(org, adj_id, "integration.task", {"flowId": name, "tasks": sign}, time=time)
    if kind == "job":
        return adjust(
            org, adj_id, "automation.job", {"automationId": name, "jobs": sign}, time=time
        )
    return adjust(
        org,
        adj_id,
        "ai.credit",
        {"resource": "ai_automation", "agentId": name, "credits": sign},
        time=time,
    )


@example(  # a zero-credit run left beside a voided one of the same agent and day
    steps=[("event", ("credit", 30, "a", 1)), ("event", ("credit", 31, "a", 3)), ("void", 1)]
)
@example(  # adjustments back to zero before a zero-credit run, then an unrelated void
    steps=[
        ("adjust", ("credit", 2, "b", 1), 2),
        ("adjust", ("credit", 3, "b", 1), -2),
        ("event", ("credit", 4, "b", 1)),
        ("event", ("api", 5, "a", 2)),
        ("adjust", ("api", 6, "a", 1), -2),
        ("event", ("api", 7, "a", 1)),
        ("void", 2),
    ]
)
@example(  # automation jobs: a void lowers the last job; an adjustment takes jobs away
    steps=[
        ("event", ("job", 10, "a", 2)),
        ("event", ("job", 12, "a", 3)),
        ("void", 1),
        ("adjust", ("job", 11, "a", 1), -1),
    ]
)
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(_step, min_size=1, max_size=25))
def test_every_figure_equals_the_surviving_ledger(any_harness: Harness, steps: list[Any]) -> None:
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    org, reference = tenant.orgs
    admin = {"Authorization": f"Bearer {harness.admin_token}"}
    stored: list[dict[str, Any]] = []
    voided: set[str] = set()
    applied: list[Any] = []
    for number, step in enumerate(steps):
        if step[0] == "event":
            event = _as_event(org, step[1], f"e{number}")
            if tenant.send([event])["accepted"]:
                stored.append(event)
        elif step[0] == "void" and stored:
            event = stored[step[1] % len(stored)]
            if correct(harness, [void(org, event)])["applied"]:
                voided.add(event["id"])
        elif step[0] == "adjust" and step[2]:
            entry = _as_adjustment(org, step[1], step[2], f"adj{number}")
            if correct(harness, [entry])["applied"]:
                applied.append(entry)
        elif step[0] == "close":
            change = "close" if step[1] else "reopen"
            harness.http.post(f"/v1/admin/months/2026-10/{change}", headers=admin)
    harness.http.post("/v1/admin/months/2026-10/reopen", headers=admin)

    surviving = [{**e, "organization": reference} for e in stored if e["id"] not in voided]
    if surviving:
        assert tenant.send(surviving)["accepted"] == len(surviving)
    if applied:
        again = [{**entry, "organization": reference} for entry in applied]
        assert correct(harness, again)["applied"] == len(applied)
    ours = usage_only(rollup_snapshot(harness.database_url, org))
    theirs = usage_only(rollup_snapshot(harness.database_url, reference))
    assert ours == theirs
    # Row by row, rows holding zero included, and what topAgents ranks.
    assert rows(harness, org) == rows(harness, reference)
    months = ("2026-10", "2026-11")
    assert top_agents(harness, org, months) == top_agents(harness, reference, months)
    check = harness.app.state.components.verifier
    assert check.verify(check.targets(None, None)).as_json() == {
        "differences": [],
        "unverifiable": [],
    }
