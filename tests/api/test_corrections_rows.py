"""Which rows corrections leave (section 11, "as if never accepted"): a rollup row
exists exactly when something left in the ledger adds to it, even when its figures add
up to zero -- a zero-credit run of an agent, usage adjusted back to nothing -- whatever
the order the events, voids and adjustments came in. Compared row by row, zeros
included, with an organization that only ever received what survived, and through the
figures the statistics read (``topAgents``' source, ``agentsUsageDetails``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.corrections import adjust, correct, void
from tests.support.events import ai_credit, api_call, iso
from tests.support.harness import Harness
from tests.support.rollup_rows import DAY, rows, top_agents
from tests.support.tenant import Tenant
from tests.support.usage import automation_job


def _credit(org: str, event_id: str, credits: float, agent: str = "agt-1") -> dict[str, Any]:
    return ai_credit(org, DAY, credits=credits, agent=agent, event_id=event_id)


def test_a_zero_credit_run_left_beside_a_voided_one_keeps_its_row(any_harness: Harness) -> None:
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    org, reference = tenant.orgs
    zero, two = _credit(org, "zero", 0), _credit(org, "two", 2)
    lonely = _credit(org, "lonely", 1.5, agent="agt-2")
    assert tenant.send([zero, two, lonely])["accepted"] == 3
    assert tenant.send([{**zero, "organization": reference}])["accepted"] == 1

    assert correct(harness, [void(org, two), void(org, lonely)])["applied"] == 2
    assert rows(harness, org) == rows(harness, reference)
    assert top_agents(harness, org) == top_agents(harness, reference) == [("agt-1", 0)]
    month = DAY.strftime("%Y-%m")
    assert rows(harness, org)["credits_monthly"] == {(month, 1, "agt-1"): 0}

    # The zero-credit run voided too: nothing adds to the row any more.
    assert correct(harness, [void(org, zero)])["applied"] == 1
    assert rows(harness, org)["credits"] == {}
    assert top_agents(harness, org) == []


def test_rows_do_not_depend_on_the_order_of_events_and_adjustments(any_harness: Harness) -> None:
    """Adjustments back to zero, before or after a zero-credit event of the same
    agent and day, and a void that leaves a figure at zero that an adjustment and an
    event still add to: both orders give the same rows."""
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    org, reference = tenant.orgs
    at = iso(DAY)

    def plus_minus(who: str, prefix: str) -> list[Any]:
        data = {"resource": "ai_automation", "agentId": "agt-9"}
        calls = {"operationName": "Sync", "tokenName": "bot"}
        return [
            adjust(who, f"{prefix}+", "ai.credit", {**data, "credits": 2}, time=at),
            adjust(who, f"{prefix}-", "ai.credit", {**data, "credits": -2}, time=at),
            adjust(who, f"{prefix}c", "api.call", {**calls, "count": -3}, time=at),
        ]

    zero = _credit(org, "zero", 0, agent="agt-9")
    calls = [
        api_call(org, DAY, operation="Sync", label="bot", count=3, event_id="kept"),
        api_call(org, DAY, operation="Sync", label="bot", count=2, event_id="doomed"),
    ]
    # Ours: the adjustments first, then the events, then a void.
    assert correct(harness, plus_minus(org, "o")[:2])["applied"] == 2
    assert tenant.send([zero, *calls])["accepted"] == 3
    assert correct(harness, [plus_minus(org, "o")[2], void(org, calls[1])])["applied"] == 2
    # The reference: the surviving events first, then the adjustments.
    survivors = [{**e, "organization": reference} for e in (zero, calls[0])]
    assert tenant.send(survivors)["accepted"] == 2
    assert correct(harness, plus_minus(reference, "r"))["applied"] == 3

    ours = rows(harness, org)
    assert ours == rows(harness, reference)
    assert ours["credits"] == {(DAY.date().isoformat(), 1, "agt-9"): 0}
    assert ours["api_calls"][(DAY.date().isoformat(), 1, "Sync")] == 0  # still listed
    assert top_agents(harness, org) == [("agt-9", 0)]
    check = harness.app.state.components.verifier
    assert check.verify(check.targets(None, None)).as_json()["differences"] == []


def test_automation_jobs_are_voided_and_adjusted_like_every_other_usage(
    any_harness: Harness,
) -> None:
    """A void takes its jobs away and lowers the last job to the latest one left; an
    adjustment (negative too) counts jobs only, never moves the last job, and may not
    take jobs below zero."""
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    org, reference = tenant.orgs
    early, late = DAY, DAY + timedelta(hours=5)
    events = [
        automation_job(org, early, "auto-1", 2, event_id="j1"),
        automation_job(org, late, "auto-1", 3, event_id="j2"),
        automation_job(org, late, "auto-2", 4, event_id="j3"),
    ]
    assert tenant.send(events)["accepted"] == 3
    data = {"automationId": "auto-1", "jobs": -1}
    entries = [
        void(org, events[1]),
        void(org, events[2]),
        adjust(org, "minus", "automation.job", data, time=iso(late)),
    ]
    assert correct(harness, entries) == {"applied": 3, "unchanged": 0, "rejected": []}
    too_much = adjust(org, "too-much", "automation.job", {**data, "jobs": -2}, time=iso(late))
    (refused,) = correct(harness, [too_much])["rejected"]
    assert (refused["code"], refused["message"][:9]) == ("NEGATIVE_USAGE", "data.jobs")

    kept = {**events[0], "organization": reference}
    assert tenant.send([kept])["accepted"] == 1
    minus = adjust(reference, "minus", "automation.job", data, time=iso(late))
    assert correct(harness, [minus])["applied"] == 1
    ours = rows(harness, org)
    assert ours == rows(harness, reference)
    day = DAY.date().isoformat()
    assert ours["automation_jobs_daily"] == {(day, "auto-1"): (1, int(early.timestamp() * 1000))}
    check = harness.app.state.components.verifier
    assert check.verify(check.targets(None, None)).as_json()["differences"] == []
