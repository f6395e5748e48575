"""Amounts that would overflow the rollups, over HTTP on both engines (issue 11 follow-up:
found by the fuzz as a 500 on both engines and, on PostgreSQL, a poisoned rollup row).

One event's credits are bounded (10^6), and every figure of an organization's month by
``FIGURE_CEILING``: an event that would pass it is one ``INVALID_EVENT`` naming its
amount, not stored; the rest of the batch -- other organizations first of all -- is.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest
from sqlalchemy import func, select

from tallyboard.domain.rollup import FIGURE_CEILING, RollupDeltas
from tallyboard.domain.usage import AiResource
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.events import ai_credit, api_call, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW as NOW
from tests.support.harness import Harness
from tests.support.tenant import Tenant

C = FIGURE_CEILING
MICRO = 1_000_000
BACKFILL_AT = datetime(2026, 8, 15, 9, 0, tzinfo=UTC)
"""Older than the live window, inside the retention horizon."""


def post(tenant: Tenant, events: list[dict[str, Any]], *, backfill: bool) -> dict[str, Any]:
    if not backfill:
        return tenant.send(events)
    harness = tenant.harness
    response = harness.http.post(
        "/v1/admin/backfill",
        content=orjson.dumps(events),
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def org_pk(database_url: str, org_uuid: str) -> int:
    database = Database(database_url)
    with database.read() as conn:
        o = t.organizations
        pk = int(conn.execute(select(o.c.pk).where(o.c.uuid == org_uuid)).scalar_one())
    database.dispose()
    return pk


def raw_events(database_url: str, org_uuid: str) -> int:
    database = Database(database_url)
    pk = org_pk(database_url, org_uuid)
    with database.read() as conn:
        e = t.events
        count = int(conn.execute(select(func.count()).where(e.c.org_pk == pk)).scalar_one())
    database.dispose()
    return count


def seed(database_url: str, org_uuid: str, day: date, kind: str, amount: int) -> None:
    """Usage written as the rollup writer writes it (the flush, earlier batches): how a
    month gets near the ceiling without 10^5 events of 10^9."""
    deltas = RollupDeltas()
    pk = org_pk(database_url, org_uuid)
    if kind == "api.call":
        deltas.add_api_calls((pk, day, "Seeded", "seed"), amount)
    elif kind == "integration.task":
        deltas.add_flow_run((pk, day, "seeded-flow"), amount, 0)
    else:
        deltas.add_credits((pk, day, AiResource.ASSISTANT, ""), amount)
    database = Database(database_url)
    with database.write() as conn:
        RollupWriter(database.dialect, operation_name_cap=100).apply(conn, deltas)
    database.dispose()


def rejections(result: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(r["index"], r["code"], r["message"]) for r in result["rejected"]]


@pytest.mark.parametrize("backfill", [False, True], ids=["live", "backfill"])
def test_the_fuzz_batch_of_the_largest_credits_beside_another_organization(
    any_harness: Harness, backfill: bool
) -> None:
    """The fuzz's reproduction: 12 x 10^12 credits for one organization's assistants,
    here mixed with another organization's events. One event may carry 10^6 credits."""
    tenant = Tenant(any_harness, orgs=2)
    a, b = tenant.orgs
    at = BACKFILL_AT if backfill else NOW
    huge = [ai_credit(a, at, credits=10**12, resource="assistant", agent=None) for _ in range(12)]
    others = [api_call(b, at, count=3), ai_credit(b, at, credits=2.5), task_run(b, at, tasks=4)]
    events = huge[:4] + others[:1] + huge[4:8] + others[1:] + huge[8:]
    result = post(tenant, events, backfill=backfill)
    assert result["accepted"] == 3 and result["duplicates"] == 0
    huge_indexes = [i for i, e in enumerate(events) if e["organization"] == a]
    assert rejections(result) == [
        (i, "INVALID_EVENT", "data.credits: must not exceed 1000000") for i in huge_indexes
    ]
    snapshot = rollup_snapshot(any_harness.database_url, b)
    assert (snapshot.total_calls(), snapshot.total_tasks()) == (3, 4)
    assert snapshot.total_micro_credits() == 2_500_000
    assert rollup_snapshot(any_harness.database_url, a).total_micro_credits() == 0
    assert raw_events(any_harness.database_url, a) == 0


@pytest.mark.parametrize("backfill", [False, True], ids=["live", "backfill"])
def test_credits_past_an_organizations_monthly_ceiling_are_rejected_in_batch_order(
    any_harness: Harness, backfill: bool
) -> None:
    """101 events of 10^6 credits: the batch alone passes 10^8 credits (10^14 micro).
    The first 100 fit exactly; the 101st is rejected and stored nowhere."""
    tenant = Tenant(any_harness, orgs=2)
    a, b = tenant.orgs
    at = BACKFILL_AT if backfill else NOW
    month = at.strftime("%Y-%m")
    events = []
    for i in range(101):
        if i % 25 == 0:
            events.append(api_call(b, at, count=2))
        events.append(ai_credit(a, at, credits=10**6, resource="assistant", agent=None))
    last = events[-1]
    result = post(tenant, events, backfill=backfill)
    assert result["accepted"] == 105 and result["duplicates"] == 0
    assert rejections(result) == [
        (
            len(events) - 1,
            "INVALID_EVENT",
            f"data.credits: would take the organization's AI credits of {month} past "
            "100000000 credits, the most one organization's month may hold; the event was "
            "not stored",
        )
    ]
    url = any_harness.database_url
    assert rollup_snapshot(url, a).total_micro_credits() == C
    assert raw_events(url, a) == 100
    assert rollup_snapshot(url, b).total_calls() == 10
    # Sent again, it is still rejected: not a duplicate, since nothing was stored.
    again = post(
        tenant,
        [last, ai_credit(a, at, credits=0, resource="assistant", agent=None)],
        backfill=backfill,
    )
    assert again["accepted"] == 1 and [r[:2] for r in rejections(again)] == [(0, "INVALID_EVENT")]
    # Other organizations, and the organization's other figures, carry on.
    more = post(tenant, [api_call(a, at), ai_credit(b, at, credits=10**6)], backfill=backfill)
    assert more == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert rollup_snapshot(url, a).total_micro_credits() == C


MakeEvent = Callable[[str, datetime, int, str], dict[str, Any]]
KINDS: dict[str, tuple[MakeEvent, str, str, int]] = {
    # kind: (event with an amount, its field, the figure's name, amount -> stored units)
    "api.call": (
        lambda org, at, n, eid: api_call(org, at, count=n, event_id=eid),
        "data.count",
        "API calls",
        1,
    ),
    "integration.task": (
        lambda org, at, n, eid: task_run(org, at, tasks=n, event_id=eid),
        "data.tasks",
        "integration tasks",
        1,
    ),
    "ai.credit": (
        lambda org, at, n, eid: ai_credit(org, at, credits=n, event_id=eid),
        "data.credits",
        "AI credits",
        MICRO,
    ),
}


def _figure(url: str, org: str, kind: str) -> int:
    snapshot = rollup_snapshot(url, org)
    if kind == "api.call":
        return snapshot.total_calls()
    if kind == "integration.task":
        return snapshot.total_tasks()
    return snapshot.total_micro_credits()


@pytest.mark.parametrize("backfill", [False, True], ids=["live", "backfill"])
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_month_just_below_the_ceiling_takes_what_fits_and_rejects_the_event_past_it(
    any_harness: Harness, kind: str, backfill: bool
) -> None:
    """5 units below the ceiling: +3 fits, +3 would pass it (rejected), +2 fits exactly.
    No delta of the batch is large on its own: the database's CHECK notices the sum."""
    make, field, figure, unit = KINDS[kind]
    tenant = Tenant(any_harness, orgs=2)
    a, b = tenant.orgs
    url = any_harness.database_url
    at = BACKFILL_AT if backfill else NOW
    seed(url, a, at.date(), kind, C - 5 * unit)
    before_b = _figure(url, b, kind)
    refused = make(a, at, 3, "e-3")
    # What the rejected event says of the catalog is not stored either.
    if kind == "integration.task":
        refused["data"] |= {"flowId": "flow-x", "flowName": "Refused"}
    elif kind == "ai.credit":
        refused["data"] |= {"agentId": "agt-x", "agentName": "Refused"}
    events = [
        make(a, at, 3, "e-1"),
        make(b, at, 1, "e-2"),
        refused,
        make(a, at, 2, "e-4"),
        dict(refused),  # the rejected event again, in the same request
        make(a, at, 3, "e-1"),  # a replay of an accepted one: a duplicate
    ]
    result = post(tenant, events, backfill=backfill)
    assert (result["accepted"], result["duplicates"]) == (3, 1)
    ceiling = "100000000 credits" if kind == "ai.credit" else str(C)
    message = (
        f"{field}: would take the organization's {figure} of {at:%Y-%m} past {ceiling}, "
        "the most one organization's month may hold; the event was not stored"
    )
    assert rejections(result) == [
        (2, "INVALID_EVENT", message),
        (
            4,
            "INVALID_EVENT",
            f"id: the event at index 2 of this request has the same id and was rejected "
            f"({message})",
        ),
    ]
    assert _figure(url, a, kind) == C
    assert _figure(url, b, kind) == before_b + unit
    assert raw_events(url, a) == 2
    snapshot = rollup_snapshot(url, a)
    assert "flow-x" not in snapshot.flow_catalog and "agt-x" not in snapshot.agent_catalog
    if kind == "api.call":
        snapshot = rollup_snapshot(url, a)
        month = f"{at:%Y-%m}"
        assert snapshot.api_calls_monthly[(month, 1, "GetCards")] == 5
        assert snapshot.api_calls_monthly[(month, 0, "")] == C


def test_two_writers_racing_past_the_ceiling_answer_cleanly_and_count_exactly(
    database_url: str,
) -> None:
    """Two application instances (their own connection pools) on one database each send
    a batch that fits on its own; together they pass the ceiling. Neither answers a 5xx,
    and exactly what fits is accepted, whatever the interleaving (four rounds, one
    month each)."""
    room = 10
    with Harness(database_url) as first, Harness(database_url) as second:
        tenant = Tenant(first, orgs=2)
        a, b = tenant.orgs
        for month in (11, 10, 9, 8):
            at = datetime(2026, month, 2, 9, 0, tzinfo=UTC)
            seed(database_url, a, at.date(), "api.call", C - room)
            results: list[dict[str, Any]] = []
            barrier = threading.Barrier(2)
            tag = uuid.uuid4().hex[:6]

            def send(
                harness: Harness,
                name: str,
                at: datetime = at,
                barrier: threading.Barrier = barrier,
                results: list[dict[str, Any]] = results,
            ) -> None:
                batch = [api_call(a, at, event_id=f"{name}-{i}") for i in range(6)]
                batch.append(api_call(b, at, event_id=f"{name}-b"))
                barrier.wait()
                response = harness.http.post(
                    "/v1/admin/backfill",
                    content=orjson.dumps(batch),
                    headers={"Authorization": f"Bearer {harness.admin_token}"},
                )
                assert response.status_code == 200, response.text
                results.append(response.json())

            threads = [
                threading.Thread(target=send, args=(harness, f"{tag}-{n}"))
                for n, harness in enumerate((first, second))
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(60)
            assert len(results) == 2
            assert sum(r["accepted"] for r in results) == room + 2  # A's 10 that fit, B's 2
            rejected = [r for result in results for r in result["rejected"]]
            assert [r["code"] for r in rejected] == ["INVALID_EVENT"] * 2
            monthly = rollup_snapshot(database_url, a).api_calls_monthly
            assert monthly[(f"{at:%Y-%m}", 0, "")] == C
