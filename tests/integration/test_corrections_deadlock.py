"""Correction batches on PostgreSQL never deadlock: not with each other (entries in
opposite orders, across months and event types), and not with an ingest batch writing
the same months. Each interleaving that used to deadlock is forced: a batch is held
right after it claimed its first event -- until the other batch reached the same
point, or until another transaction waits on a lock it holds -- so without one lock
order the two would each wait for the other and PostgreSQL would kill one."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text

from tests.support.corrections import adjust, void
from tests.support.events import api_call, iso, task_run
from tests.support.harness import DEFAULT_NOW as NOW
from tests.support.nodes import Node, new_orgs

pytestmark = pytest.mark.postgres

NOVEMBER = NOW - timedelta(days=1)
OCTOBER = NOW - timedelta(days=30)
HOLD_SECONDS = 3.0


class HeldWriter:
    """The correction service's rollup writer, holding each batch once: ``before``
    runs ahead of the first rollup change of a batch (its first event is claimed),
    ``after`` right after it."""

    def __init__(
        self, inner: Any, before: Callable[[], None], after: Callable[[], None] = lambda: None
    ) -> None:
        self._inner = inner
        self._before, self._after = before, after
        self._held = threading.local()

    def arm(self) -> None:
        self._held.done = False

    def apply(self, conn: Any, deltas: Any) -> None:
        first = not getattr(self._held, "done", True)
        self._held.done = True
        if first:
            self._before()
        self._inner.apply(conn, deltas)
        if first:
            self._after()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


@pytest.fixture
def trio(postgres_url: str) -> Iterator[tuple[Node, Node, Node]]:
    nodes = (Node(postgres_url), Node(postgres_url), Node(postgres_url))
    yield nodes
    for node in nodes:
        node.close()


def _meet(barrier: threading.Barrier) -> Callable[[], None]:
    def wait() -> None:
        # Broken: the other batch waits on a lock this one holds (one order, no deadlock).
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(HOLD_SECONDS)

    return wait


def _hold(node: Node, before: Callable[[], None], after: Callable[[], None]) -> HeldWriter:
    service = node.services.corrections
    held = HeldWriter(service._writer, before, after)
    service._writer = held  # type: ignore[assignment]
    return held


def _run_batches(
    nodes: tuple[Node, Node], batches: tuple[list[Any], list[Any]]
) -> list[dict[str, Any]]:
    """Both batches at once, each held after its first claim until both got there."""
    barrier = threading.Barrier(2)
    held = [_hold(node, _meet(barrier), lambda: None) for node in nodes]
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        held[index].arm()
        try:
            outcome = nodes[index].services.corrections.correct(batches[index])
            results.append(outcome.as_json())
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    return results


def _exact(node: Node) -> None:
    check = node.services.verifier
    assert check.verify(check.targets(None, None)).as_json()["differences"] == []


def _retries(caplog: pytest.LogCaptureFixture) -> int:
    return sum("retried after a deadlock" in r.getMessage() for r in caplog.records)


def test_two_batches_voiding_the_same_events_in_opposite_orders(
    trio: tuple[Node, Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, _ = trio
    org = new_orgs(a)[0]
    events = [api_call(org, NOVEMBER, count=2), api_call(org, NOVEMBER, count=3)]
    assert a.ingest(events, backfill=True).accepted == 2
    voids = [void(org, event, "concurrency") for event in events]
    results = _run_batches((a, b), (voids, voids[::-1]))
    assert sorted(r["applied"] for r in results) == [0, 2]  # each event voided once
    assert sorted(r["unchanged"] for r in results) == [0, 2]
    assert _retries(caplog) == 0  # one lock order: not even a deadlock retried
    _exact(a)


def test_two_batches_across_months_and_streams_in_opposite_orders(
    trio: tuple[Node, Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, _ = trio
    org = new_orgs(a)[0]
    events = [
        event
        for _ in range(2)
        for at in (OCTOBER, NOVEMBER)
        for event in (api_call(org, at, count=2), task_run(org, at, tasks=3))
    ]
    assert a.ingest(events, backfill=True).accepted == 8
    voids = [void(org, e, "concurrency") for e in events]
    oct_call, oct_run, nov_call, nov_run = voids[:4]
    # Months in opposite orders.
    results = _run_batches((a, b), ([oct_call, nov_call], [nov_run, oct_run]))
    assert sorted(r["applied"] for r in results) == [2, 2]
    # One month each, a task then a call against a call then a task: the
    # organization's answer-reuse versions (one row per stream) in opposite orders.
    oct_call, oct_run, nov_call, nov_run = voids[4:]
    results = _run_batches((a, b), ([oct_run, oct_call], [nov_call, nov_run]))
    assert sorted(r["applied"] for r in results) == [2, 2]
    assert _retries(caplog) == 0
    _exact(a)
    assert a.services.corrections.correct(voids).unchanged == 8


@pytest.mark.parametrize(
    ("kind", "data", "retries"),
    [
        # API calls raise the organization's version, locked up front: one batch waits.
        ("api.call", {"tokenName": "self-metered", "count": 4}, 0),
        # Credits raise none: the only cycle left (the same ids, in opposite orders, in
        # two months), which PostgreSQL ends and the batch it failed is judged again
        # (at least once: a retry may meet the winner again before it committed).
        ("ai.credit", {"resource": "assistant", "credits": 1}, None),
    ],
)
def test_two_batches_creating_the_same_adjustment_ids_in_opposite_orders(
    trio: tuple[Node, Node, Node],
    caplog: pytest.LogCaptureFixture,
    kind: str,
    data: dict[str, Any],
    retries: int | None,
) -> None:
    """Different times (so different months, locked by neither batch): the second
    batch to finish finds both ids taken (CONFLICT); each adjustment counts once."""
    a, b, _ = trio
    org = new_orgs(a)[0]

    def adjustments(at: Any, ids: list[str]) -> list[Any]:
        return [adjust(org, i, kind, data, time=iso(at)) for i in ids]

    batches = (adjustments(OCTOBER, ["x", "y"]), adjustments(NOVEMBER, ["y", "x"]))
    results = _run_batches((a, b), batches)
    if retries is None:
        assert _retries(caplog) >= 1
    else:
        assert _retries(caplog) == retries
    assert sorted(r["applied"] for r in results) == [0, 2]
    codes = sorted(rejection["code"] for r in results for rejection in r["rejected"])
    assert codes == ["CONFLICT", "CONFLICT"]
    _exact(a)


def _lock_waiters(node: Node) -> int:
    with node.services.database.read() as conn:
        query = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
        return int(conn.execute(query).scalar_one())


def test_a_batch_voiding_in_descending_month_order_while_an_ingest_batch_writes_both(
    trio: tuple[Node, Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, c = trio
    org = new_orgs(a)[0]
    doomed = [api_call(org, NOVEMBER, count=2), api_call(org, OCTOBER, count=3)]
    assert a.ingest(doomed, backfill=True).accepted == 2
    fresh = [api_call(org, OCTOBER, count=11), api_call(org, NOVEMBER, count=13)]
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            c.ingest(fresh, backfill=True)
        except BaseException as exc:  # reported below
            errors.append(exc)

    ingester = threading.Thread(target=ingest)

    def start_ingest_and_wait_until_it_waits() -> None:
        ingester.start()
        deadline = time.monotonic() + HOLD_SECONDS
        while _lock_waiters(a) == 0 and time.monotonic() < deadline:
            time.sleep(0.02)

    held = _hold(b, lambda: None, start_ingest_and_wait_until_it_waits)
    held.arm()
    outcome = b.services.corrections.correct([void(org, e, "concurrency") for e in doomed])
    ingester.join(60)
    assert not errors, errors
    assert outcome.applied == 2
    assert _retries(caplog) == 0
    _exact(a)


def test_a_deadlock_is_retried_transparently_and_counted_once(
    trio: tuple[Node, Node, Node], caplog: pytest.LogCaptureFixture
) -> None:
    """A writer outside every lock order (this test's own transaction: the version row,
    then the month's totals) closes a cycle with a batch; PostgreSQL ends it by failing
    the batch, which is judged again from the start once the way is clear."""
    a, b, c = trio
    org = new_orgs(a)[0]
    events = [api_call(org, NOVEMBER, count=2), api_call(org, NOVEMBER, count=3)]
    assert a.ingest(events, backfill=True).accepted == 2
    with a.services.database.read() as conn:
        query = text("SELECT pk FROM organizations WHERE uuid = :uuid")
        org_pk = int(conn.execute(query, {"uuid": org}).scalar_one())
    month = NOVEMBER.strftime("%Y-%m")
    versions_held = threading.Event()
    errors: list[BaseException] = []

    def hostile() -> None:
        try:
            with c.services.database.write() as conn:
                conn.execute(
                    text("UPDATE usage_versions SET version = version + 1 WHERE org_pk = :o"),
                    {"o": org_pk},
                )
                versions_held.set()
                deadline = time.monotonic() + HOLD_SECONDS
                while _lock_waiters(a) == 0 and time.monotonic() < deadline:
                    time.sleep(0.02)  # until the batch holds the totals, waiting for us
                conn.execute(
                    text(
                        "UPDATE usage_totals_monthly SET calls = calls "
                        "WHERE org_pk = :o AND month = :m"
                    ),
                    {"o": org_pk, "m": month},
                )
        except BaseException as exc:  # reported below
            errors.append(exc)
            versions_held.set()

    other = threading.Thread(target=hostile)
    other.start()
    assert versions_held.wait(30)
    outcome = b.services.corrections.correct([void(org, e, "concurrency") for e in events])
    other.join(60)
    assert not errors, errors
    assert _retries(caplog) == 1
    assert outcome.as_json() == {"applied": 2, "unchanged": 0, "rejected": []}
    _exact(a)
