"""Event validation and normalization (spec §5), the window, and folding."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.catalog import catalog_facts
from tallyboard.domain.credits import parse_credits
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_time import epoch_ms
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import (
    MAX_EVENT_CREDITS,
    ApiCall,
    CreditUse,
    Event,
    NotJson,
    Rejection,
    RejectionCode,
    TaskRun,
)
from tallyboard.domain.usage import NOT_SPECIFIED, AiResource
from tallyboard.ingest.window import Window
from tests.support.events import ai_credit, api_call, task_run

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ORG = "8a1c4f10-1111-4d2c-9c2a-abc123def456"


def valid(raw: object) -> Event:
    outcome = EventValidator().validate(raw, 0)
    assert isinstance(outcome, Event), outcome
    return outcome


def rejected(raw: object) -> Rejection:
    outcome = EventValidator().validate(raw, 3)
    assert isinstance(outcome, Rejection), outcome
    assert outcome.index == 3
    assert outcome.code is RejectionCode.INVALID_EVENT
    return outcome


def test_the_spec_example_is_valid_and_normalized() -> None:
    event = valid(
        {
            "id": "evt-0001",
            "source": "gateway-eu-1",
            "type": "ai.credit",
            "time": "2026-11-21T10:15:00Z",
            "organization": ORG.upper(),
            "data": {
                "resource": "ai_automation",
                "agentId": "agt-1",
                "agentName": "Invoice Processor",
                "credits": 2.5,
            },
        }
    )
    assert event.organization == ORG
    assert event.time_ms == epoch_ms(datetime(2026, 11, 21, 10, 15, tzinfo=UTC))
    assert event.usage == CreditUse(
        AiResource.AI_AUTOMATION, "agt-1", "Invoice Processor", 2_500_000
    )
    assert len(event.digest) == 16


def test_api_call_defaults_and_the_status_rule() -> None:
    call = valid({**api_call(ORG, NOW), "data": {"operationName": None, "tokenName": "bot"}}).usage
    assert call == ApiCall(NOT_SPECIFIED, "bot", 200, 1)
    assert isinstance(call, ApiCall) and call.billable_calls == 1
    for status, counted in [(201, 5), (302, 5), (404, 5), (408, 5), (422, 5), (401, 0), (403, 0)]:
        usage = valid(api_call(ORG, NOW, status=status, count=5)).usage
        assert isinstance(usage, ApiCall) and usage.billable_calls == counted, status
    server_error = valid(api_call(ORG, NOW, status=503, count=5)).usage
    assert isinstance(server_error, ApiCall) and server_error.billable_calls == 0


def test_every_problem_of_an_event_is_reported_naming_its_field() -> None:
    rejection = rejected(
        {
            "id": "evt-1",
            "source": "",
            "type": "ai.credit",
            "time": "2026-11-21T10:15:00",
            "organization": "not-a-uuid",
            "data": {"resource": "ai_automation", "credits": -1},
        }
    )
    assert rejection.id == "evt-1"
    assert rejection.message.split("; ") == [
        "source: must be a string of 1 to 128 characters",
        "organization: must be a UUID",
        "time: must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:15:00Z",
        "data.agentId: is required",
        "data.credits: must not be negative",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "api.calls"}, "type: must be api.call, integration.task, ai.credit"),
        ({"type": None}, "type: is required"),
        ({"data": []}, "data: must be a JSON object"),
        ({"id": "x" * 129}, "id: must be a string of 1 to 128 characters"),
        ({"id": 7}, "id: must be a string of 1 to 128 characters"),
        ({"time": 1700000000}, "time: must be an RFC 3339"),
        ({"organization": None}, "organization: is required"),
    ],
)
def test_envelope_problems(change: dict[str, Any], message: str) -> None:
    raw = {**task_run(ORG, NOW), **change}
    assert rejected({k: v for k, v in raw.items() if v is not None}).message.startswith(message)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"flowId": "f", "tasks": -1}, "data.tasks: must be at least 0"),
        ({"flowId": "f", "tasks": 1.5}, "data.tasks: must be an integer"),
        ({"flowId": "f", "tasks": True}, "data.tasks: must be an integer"),
        ({"tasks": 1}, "data.flowId: is required"),
        ({"flowId": "f", "tasks": 1, "project": {"id": "p"}}, "data.project.name: is required"),
        ({"flowId": "f", "tasks": 1, "project": "Sales"}, "data.project: must be a JSON object"),
    ],
)
def test_integration_task_problems(data: dict[str, Any], message: str) -> None:
    assert rejected({**task_run(ORG, NOW), "data": data}).message == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tokenName": "t", "count": 0}, "data.count: must be at least 1"),
        ({"tokenName": "t", "status": 99}, "data.status: must be at least 100"),
        ({"operationName": "Q"}, "data.tokenName: is required"),
        ({"tokenName": "t", "operationName": 5}, "data.operationName: must be a string"),
    ],
)
def test_api_call_problems(data: dict[str, Any], message: str) -> None:
    assert rejected({**api_call(ORG, NOW), "data": data}).message.startswith(message)


@pytest.mark.parametrize(
    ("credits", "message"),
    [
        ("2.5", "data.credits: must be a number"),
        (None, "data.credits: is required"),
        (0.1234567, "data.credits: must have at most 6 decimal places"),
        (10**6 + 1, "data.credits: must not exceed 1000000"),
        (1_000_000.000001, "data.credits: must not exceed 1000000"),
        (10**12, "data.credits: must not exceed 1000000"),
        (1e300, "data.credits: must not exceed 1000000"),
    ],
)
def test_credit_problems(credits: object, message: str) -> None:
    data = {"resource": "assistant", "credits": credits}
    assert rejected({**ai_credit(ORG, NOW), "data": data}).message == message


def test_assistants_need_no_agent_and_a_non_object_or_unparsable_line_is_one_rejection() -> None:
    event = valid(ai_credit(ORG, NOW, resource="assistant", agent=None, credits=0.000001))
    assert event.usage == CreditUse(AiResource.ASSISTANT, None, "Invoice Processor", 1)
    assert rejected([1, 2]).message == "event: must be a JSON object"
    assert rejected(NotJson("line 4: not valid JSON")).message == "line 4: not valid JSON"


def test_the_same_event_written_differently_hashes_the_same() -> None:
    base = ai_credit(ORG, NOW, credits=2.5, event_id="e1")
    variants = [
        {**base, "time": "2026-11-21T11:30:00+01:00", "organization": ORG.upper()},
        {**base, "data": {**base["data"], "credits": 2.50}, "extra": "ignored"},
    ]
    digests = {valid(v).digest for v in [base, *variants]}
    assert len(digests) == 1
    changed = {**base, "data": {**base["data"], "credits": 2.6}}
    assert valid(changed).digest not in digests
    renamed = {**base, "data": {**base["data"], "agentName": "Other"}}
    assert valid(renamed).digest not in digests


def test_the_window_is_35_days_back_and_5_minutes_ahead() -> None:
    live = Window.live(NOW, 35, 300)
    inside = [NOW - timedelta(days=35), NOW + timedelta(seconds=300), NOW]
    assert all(live.problem(epoch_ms(t)) is None for t in inside)
    too_old = live.problem(epoch_ms(NOW - timedelta(days=35, milliseconds=1)))
    assert too_old is not None and "backfill" in too_old
    ahead = live.problem(epoch_ms(NOW + timedelta(seconds=301)))
    assert ahead is not None and "in the future" in ahead
    backfill = Window.backfill(NOW, 400, 300)
    assert backfill.problem(epoch_ms(NOW - timedelta(days=399))) is None
    assert backfill.problem(epoch_ms(NOW - timedelta(days=401))) is not None


def _with_org(event: Event, org_pk: int = 7) -> Event:
    event.org_pk = org_pk
    return event


def test_folding_counts_billable_calls_tasks_runs_and_exact_credits() -> None:
    events = [
        _with_org(valid(api_call(ORG, NOW, count=3))),
        _with_org(valid(api_call(ORG, NOW, count=4, status=500))),
        _with_org(valid(task_run(ORG, NOW, tasks=5))),
        _with_org(valid(task_run(ORG, NOW + timedelta(seconds=9), tasks=0))),
        _with_org(valid(ai_credit(ORG, NOW, credits=0.1))),
        _with_org(valid(ai_credit(ORG, NOW, credits=0.2))),
        _with_org(valid(ai_credit(ORG, NOW, resource="assistant", agent="x", credits=1))),
    ]
    deltas = usage_deltas(events)
    day = NOW.date()
    assert deltas.api_calls == {(7, day, "GetCards", "gateway-bot"): 3}
    run = deltas.flow_runs[(7, day, "flow-1")]
    assert (run.tasks, run.runs, run.last_run_at) == (5, 2, int(NOW.timestamp()) + 9)
    assert deltas.ai_credits == {
        (7, day, AiResource.AI_AUTOMATION, "agt-1"): 300_000,
        (7, day, AiResource.ASSISTANT, ""): 1_000_000,
    }


_names = st.sampled_from(["Alpha", "Beta", "Gamma"])
_fact = st.tuples(
    st.integers(0, 3),  # seconds after NOW
    st.one_of(st.none(), _names),  # flow name
    st.one_of(st.none(), st.sampled_from(["p1", "p2"])),  # project
    st.one_of(st.none(), _names),  # agent name
)


@given(st.lists(_fact, min_size=1, max_size=12), st.randoms())
def test_catalog_facts_do_not_depend_on_arrival_order(
    facts: list[tuple[int, str | None, str | None, str | None]], rnd: Any
) -> None:
    events: list[Event] = []
    for second, flow_name, project, agent_name in facts:
        at = NOW + timedelta(seconds=second)
        p = {"id": project, "name": project.upper()} if project else None
        events.append(_with_org(valid(task_run(ORG, at, flow_name=flow_name, project=p))))
        events.append(_with_org(valid(ai_credit(ORG, at, agent_name=agent_name))))
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert catalog_facts(events) == catalog_facts(shuffled)

    # Each attribute is the newest fact that states it (ties: the greater value); one
    # that no event states is (0, None), and a flow never named is known by its id.
    def newest(stated: list[tuple[int, str]], absent: tuple[int, str | None]) -> object:
        return max(((epoch_ms(NOW) + 1000 * s, v) for s, v in stated), default=absent)

    named, in_project = catalog_facts(events).flows[(7, "flow-1")]
    assert named == newest([(s, n) for s, n, _, _ in facts if n], (0, "flow-1"))
    assert in_project == newest([(s, p) for s, _, p, _ in facts if p], (0, None))
    agent, first_event = catalog_facts(events).agents[(7, "agt-1")]
    assert agent == newest([(s, a) for s, _, _, a in facts if a], (0, None))
    assert first_event == epoch_ms(NOW) + 1000 * min(s for s, _, _, _ in facts)


def test_task_runs_keep_their_flow_project_and_name() -> None:
    event = valid(task_run(ORG, NOW, project={"id": "p", "name": "Sales", "icon": "cart"}))
    assert isinstance(event.usage, TaskRun)
    assert event.usage.project is not None and event.usage.project.icon == "cart"
    assert str(uuid.UUID(event.organization)) == ORG


def test_one_event_carries_at_most_a_million_credits() -> None:
    for credits in (10**6, 1e6, 999_999.999999):
        event = valid(ai_credit(ORG, NOW, credits=credits))
        assert isinstance(event.usage, CreditUse)
        assert event.usage.micro_credits == parse_credits(credits)


@given(
    st.floats(min_value=0, max_value=2 * 10**6, allow_nan=False)
    | st.decimals(0, 2 * 10**6, places=6)
    | st.integers(0, 2 * 10**6)
)
def test_credits_are_exact_whatever_path_they_take(value: Any) -> None:
    number = value if isinstance(value, int) else float(value)
    try:
        expected: int | str = parse_credits(number, MAX_EVENT_CREDITS)
    except ValueError as exc:
        expected = str(exc)
    outcome = EventValidator().validate(ai_credit(ORG, NOW, credits=number), 0)
    if isinstance(outcome, Event):
        assert isinstance(outcome.usage, CreditUse)
        assert outcome.usage.micro_credits == expected
    else:
        assert outcome.message == f"data.credits: {expected}"
