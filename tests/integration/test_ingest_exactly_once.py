"""Exactly-once ingestion under concurrency, arbitrary redelivery, and retention."""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tests.support.events import ai_credit, api_call, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW
from tests.support.nodes import Node, mixed_events, new_orgs

NOW = DEFAULT_NOW


@pytest.fixture
def nodes(database_url: str) -> Iterator[tuple[Node, Node]]:
    pair = (Node(database_url), Node(database_url))
    yield pair
    for node in pair:
        node.close()


def test_identical_batches_from_two_processes_at_once_count_once(
    nodes: tuple[Node, Node], database_url: str
) -> None:
    a, b = nodes
    org = new_orgs(a)[0]
    rounds, size = 6, 150
    outcomes: list[tuple[int, int, int]] = []
    errors: list[BaseException] = []
    for round_number in range(rounds):
        batch = mixed_events(org, size, seed=round_number)
        barrier = threading.Barrier(2)

        def send(
            node: Node, events: list[dict[str, Any]], barrier: threading.Barrier = barrier
        ) -> None:
            try:
                barrier.wait(10)
                result = node.ingest(events)
                outcomes.append((result.accepted, result.duplicates, len(result.rejected)))
            except BaseException as exc:  # reported below, with the round
                errors.append(exc)

        # Same events, different order: the writers overlap on every key.
        reversed_batch = list(reversed(batch))
        threads = [
            threading.Thread(target=send, args=(a, batch)),
            threading.Thread(target=send, args=(b, reversed_batch)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors, errors
    assert len(outcomes) == 2 * rounds
    assert sum(o[0] for o in outcomes) == rounds * size
    assert sum(o[1] for o in outcomes) == rounds * size
    assert all(o[2] == 0 for o in outcomes)
    snap = rollup_snapshot(database_url, org)
    expected = [mixed_events(org, size, seed=r) for r in range(rounds)]
    calls = sum(e["data"]["count"] for batch in expected for e in batch if e["type"] == "api.call")
    tasks = sum(
        e["data"]["tasks"] for batch in expected for e in batch if e["type"] == "integration.task"
    )
    credit_events = sum(1 for batch in expected for e in batch if e["type"] == "ai.credit")
    assert snap.total_calls() == calls
    assert snap.total_tasks() == tasks
    assert snap.total_runs() == rounds * size // 3
    assert snap.total_micro_credits() == credit_events * 100_000
    assert snap.raw_events == rounds * size


_event = st.tuples(
    st.sampled_from(["api", "task", "credit"]),
    st.integers(0, 4 * 24 * 60),  # minutes before NOW
    st.integers(0, 3),  # dimension value
    st.integers(0, 20),  # quantity
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    spec=st.lists(_event, min_size=1, max_size=25),
    order=st.randoms(use_true_random=False),
    duplicates=st.lists(st.integers(0, 24), max_size=10),
    cuts=st.lists(st.integers(1, 40), max_size=5),
)
def test_any_split_reordering_or_duplication_gives_the_same_statistics(
    nodes: tuple[Node, Node],
    database_url: str,
    spec: list[tuple[str, int, int, int]],
    order: random.Random,
    duplicates: list[int],
    cuts: list[int],
) -> None:
    node = nodes[0]
    reference_org, replay_org = new_orgs(node, 2)

    def events_for(org: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for i, (kind, minutes, value, quantity) in enumerate(spec):
            at = NOW - timedelta(minutes=minutes)
            event_id = f"e{i}"
            if kind == "api":
                out.append(
                    api_call(org, at, operation=f"Op{value}", count=1 + quantity, event_id=event_id)
                )
            elif kind == "task":
                out.append(
                    task_run(
                        org,
                        at,
                        flow=f"f{value}",
                        flow_name=f"F{quantity}",
                        tasks=quantity,
                        event_id=event_id,
                    )
                )
            else:
                out.append(
                    ai_credit(
                        org,
                        at,
                        agent=f"a{value}",
                        agent_name=f"A{quantity}",
                        credits=quantity / 10,
                        event_id=event_id,
                    )
                )
        return out

    assert node.ingest(events_for(reference_org)).accepted == len(spec)

    stream = events_for(replay_org)
    stream += [stream[i % len(stream)] for i in duplicates]
    order.shuffle(stream)
    accepted = duplicated = 0
    start = 0
    for cut in [*cuts, len(stream)]:
        batch = stream[start : start + cut]
        start += cut
        if batch:
            result = node.ingest(batch)
            assert not result.rejected
            accepted += result.accepted
            duplicated += result.duplicates
        if start >= len(stream):
            break
    if start < len(stream):
        result = node.ingest(stream[start:])
        accepted += result.accepted
        duplicated += result.duplicates
    assert accepted == len(spec)
    assert duplicated == len(duplicates)

    reference = rollup_snapshot(database_url, reference_org)
    replay = rollup_snapshot(database_url, replay_org)
    assert replay == reference
    assert reference.total_calls() == sum(1 + q for k, _, _, q in spec if k == "api")
    assert reference.total_tasks() == sum(q for k, _, _, q in spec if k == "task")
    assert reference.total_micro_credits() == sum(
        q * 100_000 for k, _, _, q in spec if k == "credit"
    )


def test_retention_removes_old_raw_events_but_keeps_rollups_and_refuses_replays(
    nodes: tuple[Node, Node], database_url: str
) -> None:
    node = nodes[0]
    org = new_orgs(node)[0]
    old = task_run(org, NOW - timedelta(days=390), tasks=5)
    recent = task_run(org, NOW - timedelta(days=10), tasks=2)
    assert node.ingest([old, recent], backfill=True).accepted == 2
    sweeper = node.services.retention
    assert sweeper.sweep() == 0
    # 400.5 days old: outside the horizon (replays are refused) but inside the margin.
    node.clock.set(NOW + timedelta(days=10, hours=12))
    assert sweeper.sweep() == 0
    replay = node.ingest([old], backfill=True)
    assert [r.code.value for r in replay.rejected] == ["OUT_OF_WINDOW"]
    node.clock.set(NOW + timedelta(days=12))
    assert sweeper.sweep() == 1
    snap = rollup_snapshot(database_url, org)
    assert snap.raw_events == 1 and snap.total_tasks() == 7 and snap.total_runs() == 2
    replay = node.ingest([old], backfill=True)
    assert [r.code.value for r in replay.rejected] == ["OUT_OF_WINDOW"]
    assert rollup_snapshot(database_url, org).total_tasks() == 7


def test_large_credit_and_task_sums_fit_the_rollups(
    nodes: tuple[Node, Node], database_url: str
) -> None:
    node = nodes[0]
    org = new_orgs(node)[0]
    events = [ai_credit(org, NOW, credits=999_999.5) for _ in range(5)]
    events += [task_run(org, NOW, tasks=10**9) for _ in range(5)]
    assert node.ingest(events).accepted == 10
    snap = rollup_snapshot(database_url, org)
    assert snap.total_micro_credits() == 5 * 999_999_500_000
    assert snap.total_tasks() == 5 * 10**9


def test_an_organization_created_by_another_process_is_found_on_first_use(
    nodes: tuple[Node, Node],
) -> None:
    a, b = nodes
    first = new_orgs(a)[0]
    assert b.ingest([api_call(first, NOW)]).accepted == 1
    unknown = str(uuid.uuid4())
    assert [r.code.value for r in b.ingest([api_call(unknown, NOW)]).rejected] == [
        "UNKNOWN_ORGANIZATION"
    ]
    # Created by "another process" right after b missed it: no stale negative cache.
    document = {"organizations": [{"id": unknown[:8], "uuid": unknown, "name": "Late"}]}
    Applier(a.services.database, a.clock).apply(parse_document(document))
    assert b.ingest([api_call(unknown, NOW)]).accepted == 1
