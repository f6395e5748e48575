"""The metering flusher against a fake sink: failures, retries with the same id, unknown
commit outcomes, the memory bound, shutdown, and pruning (decision 0005)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import ApiCallKey, RollupDeltas
from tallyboard.metering.accumulator import Accumulator
from tallyboard.metering.flusher import Flusher, FlushOutcome, backoff_delay
from tallyboard.observability.metrics import Metrics
from tallyboard.storage.flush_store import FlushResult, RefusedKey
from tests.support.flushes import consecutive_failures

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
DAY = date(2026, 11, 21)


def key(n: int, org: int = 1) -> ApiCallKey:
    return (org, DAY, f"Op{n}", "bot")


class FakeSink:
    """Behaves like the flush store: at most one commit per flush id.

    ``script`` holds what the next attempts do: ``fail`` (nothing committed),
    ``commit_then_fail`` (committed, but the caller sees an error: an unknown outcome),
    anything else succeeds.
    """

    def __init__(self, *script: str) -> None:
        self.script = list(script)
        self.attempts: list[tuple[str, dict[ApiCallKey, int]]] = []
        self.committed: dict[str, dict[ApiCallKey, int]] = {}
        self.pruned: list[int] = []
        self.lock = threading.Lock()
        self.refuse: set[str] = set()
        """Operation names the "database" refuses for their content."""

    def apply(self, flush_id: str, deltas: RollupDeltas, applied_at_ms: int) -> FlushResult:
        with self.lock:
            self.attempts.append((flush_id, dict(deltas.api_calls)))
            action = self.script.pop(0) if self.script else "ok"
            if action == "fail":
                raise ConnectionError("the database is unreachable")
            if flush_id in self.committed:
                return FlushResult(applied=False)
            refused = {k: v for k, v in deltas.api_calls.items() if k[2] in self.refuse}
            self.committed[flush_id] = {
                k: v for k, v in deltas.api_calls.items() if k not in refused
            }
            if action == "commit_then_fail":
                raise ConnectionError("connection lost during COMMIT")
            return FlushResult(
                applied=True,
                refused=tuple(
                    RefusedKey(RollupDeltas(api_calls={k: v}), "DataError: refused")
                    for k, v in refused.items()
                ),
            )

    def prune(self, applied_before_ms: int) -> int:
        self.pruned.append(applied_before_ms)
        return 0

    def totals(self) -> Counter[ApiCallKey]:
        totals: Counter[ApiCallKey] = Counter()
        for counts in self.committed.values():
            totals.update(counts)
        return totals


def make(
    sink: FakeSink, *, max_keys: int = 1000, **options: Any
) -> tuple[Flusher, Accumulator, Metrics]:
    metrics = Metrics()
    accumulator = Accumulator(max_keys, metrics)
    interval = options.pop("interval", 0.01)
    flusher = Flusher(accumulator, sink, metrics, FixedClock(NOW), interval=interval, **options)
    return flusher, accumulator, metrics


def sample(metrics: Metrics, name: str, **labels: str) -> float:
    value = metrics.registry.get_sample_value(name, labels)
    return value or 0.0


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


def test_a_flush_moves_everything_recorded_into_one_batch() -> None:
    sink = FakeSink()
    flusher, accumulator, metrics = make(sink)

    async def scenario() -> None:
        for n in range(3):
            for _ in range(n + 1):
                accumulator.record(key(n))
        assert await flusher.flush() is FlushOutcome.APPLIED
        assert await flusher.flush() is FlushOutcome.EMPTY

    run(scenario)
    assert len(sink.attempts) == 1
    assert sink.totals() == {key(0): 1, key(1): 2, key(2): 3}
    assert len(accumulator) == 0
    assert sample(metrics, "tallyboard_metering_flushes_total", outcome="applied") == 1
    assert sample(metrics, "tallyboard_metering_flushes_total", outcome="empty") == 1


def test_a_failed_batch_is_retried_with_the_same_id_and_content_while_new_calls_wait() -> None:
    sink = FakeSink("fail", "fail")
    flusher, accumulator, metrics = make(sink)

    async def scenario() -> None:
        accumulator.record(key(1), 3)
        assert await flusher.flush() is FlushOutcome.FAILED
        pending = flusher.pending
        assert pending is not None and dict(pending.counts) == {key(1): 3}
        accumulator.record(key(1), 2)  # arrives after the batch was drained
        accumulator.record(key(2))
        assert await flusher.flush() is FlushOutcome.FAILED
        assert flusher.pending == pending
        assert consecutive_failures(flusher) == 2
        assert await flusher.flush() is FlushOutcome.APPLIED  # the retry, then the new calls

    run(scenario)
    ids = [flush_id for flush_id, _ in sink.attempts]
    contents = [content for _, content in sink.attempts]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert contents[:3] == [{key(1): 3}] * 3
    assert contents[3] == {key(1): 2, key(2): 1}
    assert sink.totals() == {key(1): 5, key(2): 1}
    assert flusher.pending is None and consecutive_failures(flusher) == 0
    assert sample(metrics, "tallyboard_metering_flushes_total", outcome="failed") == 2


def test_an_unknown_commit_outcome_is_retried_without_counting_twice() -> None:
    sink = FakeSink("commit_then_fail")
    flusher, accumulator, metrics = make(sink)

    async def scenario() -> None:
        accumulator.record(key(1), 4)
        assert await flusher.flush() is FlushOutcome.FAILED
        assert await flusher.flush() is FlushOutcome.ALREADY_APPLIED

    run(scenario)
    assert sink.attempts[0][0] == sink.attempts[1][0]
    assert sink.totals() == {key(1): 4}
    assert sample(metrics, "tallyboard_metering_flushes_total", outcome="already_applied") == 1


def test_refused_keys_are_set_aside_counted_and_logged_once_and_the_rest_committed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = FakeSink()
    long_name = "Op" + "x" * 4000
    sink.refuse = {long_name}
    flusher, accumulator, metrics = make(sink)
    poisoned = (7, DAY, long_name, "bot")

    async def scenario() -> None:
        accumulator.record(key(1), 2)
        accumulator.record(poisoned, 3)
        accumulator.record(key(2, org=9), 1)
        with caplog.at_level(logging.ERROR, logger="tallyboard.metering.flusher"):
            assert await flusher.flush() is FlushOutcome.APPLIED
            accumulator.record(key(1), 1)  # the next batch does not carry it again
            assert await flusher.flush() is FlushOutcome.APPLIED

    run(scenario)
    assert sink.totals() == {key(1): 3, key(2, org=9): 1}
    assert flusher.pending is None and len(sink.attempts) == 2
    assert poisoned not in sink.attempts[1][1]
    assert sample(metrics, "tallyboard_metering_refused_calls_total") == 3
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "refused one key" in record.getMessage()
    fields = record.__dict__
    assert (fields["org_pk"], fields["calls"], fields["day"]) == (7, 3, DAY.isoformat())
    assert fields["operation_name"] == f"{long_name[:64]}... (4002 characters)"
    assert fields["operation_name_length"] == 4002 and fields["reason"] == "DataError: refused"


def test_the_pending_batch_counts_against_the_bound_and_drops_are_counted() -> None:
    sink = FakeSink("fail")
    flusher, accumulator, metrics = make(sink, max_keys=4)

    async def scenario() -> None:
        for n in range(3):
            accumulator.record(key(n))
        assert await flusher.flush() is FlushOutcome.FAILED
        assert accumulator.reserved_keys == 3
        assert accumulator.record(key(3))  # 3 pending + 1 waiting = the bound
        assert not accumulator.record(key(4), 5)  # a new key beyond it is dropped
        assert accumulator.record(key(3))  # known keys still count
        assert sample(metrics, "tallyboard_metering_buffer_keys") == 3
        assert await flusher.flush() is FlushOutcome.APPLIED
        assert accumulator.reserved_keys == 0
        assert accumulator.record(key(4))  # room again once the batch is confirmed

    run(scenario)
    assert sample(metrics, "tallyboard_metering_dropped_calls_total") == 5
    assert sink.totals() == {key(0): 1, key(1): 1, key(2): 1, key(3): 2}


def test_the_periodic_loop_flushes_and_stop_flushes_the_rest() -> None:
    sink = FakeSink()
    flusher, accumulator, _ = make(sink, interval=0.02)

    async def scenario() -> None:
        await flusher.start()
        accumulator.record(key(1))
        deadline = time.monotonic() + 10
        while not sink.committed:
            assert time.monotonic() < deadline, "the loop never flushed"
            await asyncio.sleep(0.005)
        accumulator.record(key(2), 7)  # left for the shutdown flush
        await flusher.stop()

    run(scenario)
    assert sink.totals() == {key(1): 1, key(2): 7}


def test_stop_retries_failures_until_the_batch_is_written() -> None:
    sink = FakeSink("fail", "fail", "commit_then_fail")
    flusher, accumulator, metrics = make(sink, interval=60, max_backoff=0.01)

    async def scenario() -> None:
        await flusher.start()
        accumulator.record(key(1), 2)
        await flusher.stop()

    run(scenario)
    assert len({flush_id for flush_id, _ in sink.attempts}) == 1
    assert sink.totals() == {key(1): 2}
    assert sample(metrics, "tallyboard_metering_dropped_calls_total") == 0


def test_stop_gives_up_at_its_deadline_and_says_so_loudly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sink = FakeSink(*["fail"] * 10_000)
    flusher, accumulator, metrics = make(
        sink, interval=0.01, max_backoff=0.02, shutdown_timeout=0.3
    )

    async def scenario() -> None:
        await flusher.start()
        accumulator.record(key(1), 2)
        accumulator.record(key(2, org=9), 3)
        started = time.monotonic()
        with caplog.at_level(logging.ERROR, logger="tallyboard.metering.flusher"):
            await flusher.stop()
        assert time.monotonic() - started < 5

    run(scenario)
    assert not sink.committed
    assert len(sink.attempts) >= 2
    # On a loaded machine the periodic task may also overrun the deadline, which is its
    # own ERROR line; the one promised here names the unconfirmed calls.
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    (record,) = [r for r in errors if "could not be confirmed" in r.getMessage()]
    assert record.calls == 5  # type: ignore[attr-defined]
    assert record.calls_by_org_pk == {1: 2, 9: 3}  # type: ignore[attr-defined]
    assert sample(metrics, "tallyboard_metering_dropped_calls_total") == 5


def test_old_flush_ids_are_pruned_after_a_successful_flush() -> None:
    sink = FakeSink()
    flusher, accumulator, _ = make(sink, interval=0.01, prune_every=3600)

    async def scenario() -> None:
        await flusher.start()
        accumulator.record(key(1))
        deadline = time.monotonic() + 10
        while not sink.pruned:
            assert time.monotonic() < deadline, "never pruned"
            await asyncio.sleep(0.005)
        await flusher.stop()

    run(scenario)
    cutoff = NOW - timedelta(days=7)
    assert sink.pruned == [int(cutoff.timestamp() * 1000)]  # once per prune_every


def test_flush_now_waits_for_the_loop_from_another_thread() -> None:
    sink = FakeSink()
    flusher, accumulator, _ = make(sink, interval=60)
    outcomes: list[FlushOutcome] = []

    async def scenario() -> None:
        await flusher.start()
        accumulator.record(key(1))
        worker = threading.Thread(target=lambda: outcomes.append(flusher.flush_now(10)))
        worker.start()
        while worker.is_alive():
            await asyncio.sleep(0.005)
        with pytest.raises(RuntimeError, match="block the event loop"):
            flusher.flush_now()
        await flusher.stop()

    run(scenario)
    assert outcomes == [FlushOutcome.APPLIED]
    assert sink.totals() == {key(1): 1}
    with pytest.raises(RuntimeError, match="not running"):
        flusher.flush_now()


@given(
    failures=st.integers(min_value=0, max_value=10_000),
    interval=st.floats(min_value=0.001, max_value=60),
    cap=st.floats(min_value=0.001, max_value=600),
)
def test_backoff_starts_at_the_interval_then_doubles_up_to_the_cap(
    failures: int, interval: float, cap: float
) -> None:
    delay = backoff_delay(failures, interval, cap)
    following = backoff_delay(failures + 1, interval, cap)
    if failures == 0:
        assert delay == interval
    else:
        assert 0 < delay <= cap
    assert following <= cap
    if failures < 32:
        assert following == min(cap, 2 * delay)
    else:
        assert following == delay
