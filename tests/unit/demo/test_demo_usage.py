"""The demo's generated usage: valid spec events, deterministic, and shaped like real use."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tallyboard.admin.document import parse_document
from tallyboard.demo.tenancy import demo_document
from tallyboard.demo.usage import DayOfUsage, UsageGenerator, history_start
from tallyboard.demo.world import ORGANIZATIONS, SERVICE_ACCOUNTS, USERS
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event
from tallyboard.domain.usage import is_billable_status, personal_token_label

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ACME = ORGANIZATIONS[0]


@pytest.fixture(scope="module")
def history() -> list[DayOfUsage]:
    return list(UsageGenerator(ORGANIZATIONS, NOW).generate())


def _events(history: list[DayOfUsage], kind: str) -> list[dict[str, Any]]:
    return [e for day in history for e in day.events if e["type"] == kind]


def _billable(event: dict[str, Any]) -> int:
    data = event["data"]
    return int(data["count"]) if is_billable_status(data["status"]) else 0


def test_history_covers_about_four_months_up_to_now(history: list[DayOfUsage]) -> None:
    assert history_start(NOW).isoformat() == "2026-08-01"
    assert history[0].day.isoformat() == "2026-08-01"
    assert history[-1].day == NOW.date()
    times = [e["time"] for day in history for e in day.events]
    assert min(times) >= "2026-08-01T00:00:00Z"
    assert max(times) <= "2026-11-21T10:30:00Z"


def test_every_event_is_a_valid_spec_event_with_a_unique_id(history: list[DayOfUsage]) -> None:
    validator = EventValidator()
    keys: set[tuple[str, str, str]] = set()
    count = 0
    for day in history:
        for index, raw in enumerate(day.events):
            outcome = validator.validate(raw, index)
            assert isinstance(outcome, Event), outcome
            keys.add((raw["organization"], raw["source"], raw["id"]))
            count += 1
    assert len(keys) == count


def test_the_same_seed_and_moment_give_the_same_events() -> None:
    first = UsageGenerator(ORGANIZATIONS, NOW)
    again = UsageGenerator(ORGANIZATIONS, NOW)
    other = UsageGenerator(ORGANIZATIONS, NOW, seed=7)
    for day in (first.start, first.start + timedelta(days=40), NOW.date()):
        assert first.day(day).events == again.day(day).events
        assert first.day(day).events != other.day(day).events


def test_more_than_a_million_api_calls_counted_exactly(history: list[DayOfUsage]) -> None:
    calls = _events(history, "api.call")
    assert sum(_billable(e) for e in calls) == sum(day.api_calls for day in history)
    assert sum(day.api_calls for day in history) >= 1_000_000
    # Some gateway reports carry statuses that do not count.
    assert any(not is_billable_status(e["data"]["status"]) for e in calls)


def test_weekdays_are_busier_than_weekends_and_usage_grows(history: list[DayOfUsage]) -> None:
    by_day: dict[date, int] = defaultdict(int)
    for day in history[:-1]:  # today is not over yet
        for event in day.events:
            if event["type"] == "api.call" and event["organization"] == ACME.uuid:
                by_day[date.fromisoformat(event["time"][:10])] += _billable(event)
    weekdays = [calls for day, calls in by_day.items() if day.weekday() < 5]
    weekends = [calls for day, calls in by_day.items() if day.weekday() >= 5]
    assert statistics.median(weekdays) > 2.5 * statistics.median(weekends)
    august = sum(calls for day, calls in by_day.items() if day.month == 8)
    october = sum(calls for day, calls in by_day.items() if day.month == 10)
    assert october > 1.3 * august
    # A few heavy days stand far above an ordinary weekday.
    heavy = [calls for calls in weekdays if calls > 2 * statistics.median(weekdays)]
    assert 1 <= len(heavy) <= 6


def test_operations_and_tokens_are_skewed(history: list[DayOfUsage]) -> None:
    operations: Counter[str | None] = Counter()
    tokens: Counter[str] = Counter()
    for event in _events(history, "api.call"):
        if event["organization"] == ACME.uuid:
            operations[event["data"]["operationName"]] += _billable(event)
            tokens[event["data"]["tokenName"]] += _billable(event)
    total = sum(operations.values())
    top_three = sum(count for _, count in operations.most_common(3))
    assert top_three > 0.45 * total
    assert len(operations) >= 15
    assert None in operations  # shown as "Not specified"
    assert tokens.most_common(1)[0][1] > 5 * tokens.most_common()[-1][1]


def test_tasks_and_fractional_credits(history: list[DayOfUsage]) -> None:
    runs = _events(history, "integration.task")
    assert sum(e["data"]["tasks"] for e in runs) == sum(day.tasks for day in history)
    credits = _events(history, "ai.credit")
    assert {e["data"]["resource"] for e in credits} == {"ai_automation", "assistant"}
    assert any(e["data"]["credits"] != int(e["data"]["credits"]) for e in credits)
    micro = sum(round(e["data"]["credits"] * 100) * 10_000 for e in credits)
    assert micro == sum(day.micro_credits for day in history)


def test_a_deleted_agent_stops_and_a_late_customer_starts_late(
    history: list[DayOfUsage],
) -> None:
    legacy = [e for e in _events(history, "ai.credit") if e["data"].get("agentId") == "agt-legacy"]
    assert legacy
    assert max(e["time"] for e in legacy) < "2026-10-01"
    newcomer = ORGANIZATIONS[-1]
    first = min(
        day.day for day in history if any(e["organization"] == newcomer.uuid for e in day.events)
    )
    assert first > history[0].day + timedelta(days=60)


def test_usage_names_only_what_the_tenancy_defines(history: list[DayOfUsage]) -> None:
    users = {u.email: u for u in USERS}
    for org in ORGANIZATIONS:
        credentials = {a.name for a in SERVICE_ACCOUNTS if a.organization == org.id}
        credentials |= {
            personal_token_label(u.name, name)
            for u in users.values()
            for name, billing in u.tokens
            if billing == org.id
        }
        events = [e for day in history for e in day.events if e["organization"] == org.uuid]
        callers = {e["data"]["tokenName"] for e in events if e["type"] == "api.call"}
        assert callers <= credentials, org.name
        agents = {e["data"]["agentId"] for e in events if e["data"].get("agentId")}
        assert agents <= {agent.id for agent in org.agents}
        flows = {e["data"]["flowId"] for e in events if e["type"] == "integration.task"}
        assert flows <= {flow.id for flow in org.flows}


def test_the_tenancy_document_is_valid_with_settings_dated_from_today() -> None:
    document = parse_document(demo_document(NOW.date()))
    acme = next(org for org in document.organizations if org.id == ACME.id)
    assert acme.settings is not None
    assert [str(entry.effective_from) for entry in acme.settings] == ["2026-08", "2026-10"]
    assert any(user.memberships for user in document.users)


def test_automations_fire_jobs_on_the_working_week(history: list[DayOfUsage]) -> None:
    from tallyboard.demo.automations import AUTOMATIONS

    jobs = _events(history, "automation.job")
    assert jobs and sum(day.jobs for day in history) == sum(e["data"]["jobs"] for e in jobs)
    per_weekday: Counter[int] = Counter()
    for event in jobs:
        moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
        per_weekday[moment.weekday()] += event["data"]["jobs"]
    assert per_weekday[5] + per_weekday[6] < min(per_weekday[d] for d in range(5))
    cast = [auto for autos in AUTOMATIONS.values() for auto in autos]
    assert len(cast) >= 24
    fired = {e["data"]["automationId"] for e in jobs}
    assert all(a.id not in fired for a in cast if a.status == "inactive")
    deleted = [a for a in cast if a.deleted_at is not None]
    assert len(deleted) == 1
    last = max(e["time"] for e in jobs if e["data"]["automationId"] == deleted[0].id)
    assert last < "2026-10-15"
    document = parse_document(demo_document(NOW.date()))
    assert sum(len(org.automations or ()) for org in document.organizations) == len(cast)
