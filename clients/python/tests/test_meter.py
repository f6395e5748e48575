"""UsageMeter: pre-aggregation, ids fixed before the first attempt, retries beside new
calls, the max_keys bound, rejections, UTC day boundaries, close, threads and asyncio."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import pytest

from tallyboard_client import UsageMeter
from tests.conftest import ORG, OTHER_ORG, UNKNOWN_ORG, MeterFactory
from tests.fakes import Clock, FakeTallyboard, as_json

WAIT = 10.0  # generous bound for a thread to reach a point; never a sleep


def test_calls_are_summed_into_one_event_per_key(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    for _ in range(3):
        meter.record(ORG, "GetCards", "Mobile App")
    meter.record(ORG, "GetCards", "Mobile App", count=4)
    meter.record(ORG, "GetCards", "Mobile App", status=500)
    meter.record(ORG, None, "Mobile App")
    meter.record(OTHER_ORG, "GetCards", "CLI", status=404, count=2)
    assert tallyboard.bodies == []  # record() does no I/O
    assert meter.flush(WAIT)

    (body,) = tallyboard.bodies
    events = as_json(body)
    assert len(events) == 4
    assert {e["type"] for e in events} == {"api.call"}
    assert {e["source"] for e in events} == {"api-eu-1"}
    assert len({e["id"] for e in events}) == 4
    summed = {
        (e["organization"], *(e["data"][f] for f in ("operationName", "tokenName", "status"))): (
            e["data"]["count"]
        )
        for e in events
    }
    assert summed == {
        (ORG, "GetCards", "Mobile App", 200): 7,
        (ORG, "GetCards", "Mobile App", 500): 1,
        (ORG, None, "Mobile App", 200): 1,
        (OTHER_ORG, "GetCards", "CLI", 404): 2,
    }
    assert {e["time"] for e in events} == {"2026-11-21T10:30:00.000Z"}
    assert meter.delivered == 11 and meter.pending == 0
    assert meter.flush(WAIT) and len(tallyboard.bodies) == 1  # nothing new: no request


def test_ids_differ_between_meters_sharing_a_source(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    first, second = make_meter(), make_meter()
    for meter in (first, second):
        meter.record(ORG, "GetCards", "Mobile App")
        assert meter.flush(WAIT)
    assert tallyboard.calls("organization") == Counter({(ORG,): 2})  # no id collided
    prefixes = {event_id.rsplit("-", 1)[0] for event_id in tallyboard.events}
    assert len(prefixes) == 2


def test_a_failed_flush_is_retried_with_the_same_ids_while_new_calls_accumulate_beside_it(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    second_attempt = threading.Event()
    release = threading.Event()

    def refuse(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Tallyboard is restarting")

    def hold(_: httpx.Request) -> None:
        second_attempt.set()
        assert release.wait(WAIT)

    tallyboard.script = [refuse, hold]
    meter = make_meter()
    meter.record(ORG, "GetCards", "Mobile App", count=5)
    flushed: list[bool] = []
    flusher = threading.Thread(target=lambda: flushed.append(meter.flush(WAIT)))
    flusher.start()
    assert second_attempt.wait(WAIT)
    # While the batch is being retried: the same key again, and a new one.
    meter.record(ORG, "GetCards", "Mobile App", count=2)
    meter.record(ORG, "CreateCards", "Mobile App")
    assert meter.pending == 8
    release.set()
    flusher.join(WAIT)
    assert flushed == [True]

    first, retry = tallyboard.bodies
    assert first == retry, "a retry must resend exactly the same events, ids included"
    assert [e["data"]["count"] for e in as_json(first)] == [5]  # nothing merged into it
    assert meter.retries == 1 and meter.delivered == 5 and meter.pending == 3
    assert meter.flush(WAIT)
    later = as_json(tallyboard.bodies[-1])
    assert {e["id"] for e in later}.isdisjoint(e["id"] for e in as_json(first))
    assert tallyboard.calls("operationName") == Counter({("GetCards",): 7, ("CreateCards",): 1})


def test_a_batch_committed_but_unanswered_is_counted_once(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    def commit_then_lose_the_answer(request: httpx.Request) -> httpx.Response:
        tallyboard.ingest(request.content)
        raise httpx.ReadTimeout("the answer was lost")

    tallyboard.script = [commit_then_lose_the_answer]
    meter = make_meter()
    meter.record(ORG, "GetCards", "Mobile App", count=3)
    meter.record(ORG, "CreateCards", "CLI")
    assert meter.flush(WAIT)
    assert meter.duplicates == 2 and meter.retries == 1
    assert meter.delivered == 4
    assert tallyboard.total() == 4


def test_new_keys_beyond_max_keys_are_dropped_and_counted(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, caplog: pytest.LogCaptureFixture
) -> None:
    meter = make_meter(max_keys=2)
    meter.record(ORG, "A", "t")
    meter.record(ORG, "B", "t")
    with caplog.at_level(logging.WARNING, "tallyboard_client"):
        meter.record(ORG, "C", "t", count=3)
        meter.record(ORG, "D", "t")
    meter.record(ORG, "A", "t", count=2)  # a known key still counts
    assert meter.dropped == 4
    assert len([r for r in caplog.records if "dropping calls" in r.message]) == 1
    assert meter.flush(WAIT)
    assert tallyboard.calls("operationName") == Counter({("A",): 3, ("B",): 1})
    meter.record(ORG, "C", "t")  # acknowledged keys no longer count toward the bound
    assert meter.flush(WAIT) and meter.dropped == 4


def test_keys_in_flight_count_toward_max_keys(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    sending = threading.Event()
    release = threading.Event()

    def hold(_: httpx.Request) -> None:
        sending.set()
        assert release.wait(WAIT)

    tallyboard.script = [hold]
    meter = make_meter(max_keys=2)
    meter.record(ORG, "A", "t")
    meter.record(ORG, "B", "t")
    flusher = threading.Thread(target=meter.flush, args=(WAIT,))
    flusher.start()
    assert sending.wait(WAIT)
    meter.record(ORG, "C", "t")  # two keys unacknowledged already
    assert meter.dropped == 1
    release.set()
    flusher.join(WAIT)
    meter.record(ORG, "C", "t")
    assert meter.flush(WAIT)
    assert tallyboard.calls("operationName") == Counter({("A",): 1, ("B",): 1, ("C",): 1})


def test_rejected_events_are_counted_and_never_retried(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, caplog: pytest.LogCaptureFixture
) -> None:
    meter = make_meter()
    meter.record(UNKNOWN_ORG, "GetCards", "t", count=3)
    meter.record(ORG, "GetCards", "t", count=2)
    with caplog.at_level(logging.ERROR, "tallyboard_client"):
        assert meter.flush(WAIT)  # a rejection is an answer: flush() does not raise
    assert len(tallyboard.bodies) == 1
    assert meter.rejected == 3 and meter.delivered == 2 and meter.pending == 0
    assert "UNKNOWN_ORGANIZATION" in caplog.text
    meter.record(UNKNOWN_ORG, "GetCards", "t")
    with caplog.at_level(logging.ERROR, "tallyboard_client"):
        caplog.clear()
        assert meter.flush(WAIT)
    assert meter.rejected == 4 and caplog.text == ""  # logged once per kind


def test_a_request_refused_as_a_whole_is_rejected_not_retried(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    revoked = httpx.Response(401, json={"error": {"message": "invalid ingest key"}})
    tallyboard.script = [lambda _: revoked]
    meter = make_meter()
    meter.record(ORG, "GetCards", "t", count=6)
    assert meter.flush(WAIT)
    assert len(tallyboard.bodies) == 1 and meter.rejected == 6 and meter.retries == 0


def test_calls_land_in_their_own_utc_day_across_midnight_month_and_year(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, clock: Clock
) -> None:
    meter = make_meter()
    for before, after in [
        (
            datetime(2026, 1, 31, 23, 59, 59, 500000, UTC),
            datetime(2026, 2, 1, 0, 0, 0, 250000, UTC),
        ),
        (datetime(2026, 12, 31, 23, 59, 59, 999000, UTC), datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
    ]:
        clock.set(before)
        meter.record(ORG, "GetCards", "t", count=3)
        clock.set(after)
        meter.record(ORG, "GetCards", "t", count=2)
        assert meter.flush(WAIT)
    assert tallyboard.calls("time") == Counter(
        {
            ("2026-01-31T23:59:59.999Z",): 3,  # recorded before midnight, flushed after it
            ("2026-02-01T00:00:00.250Z",): 2,
            ("2026-12-31T23:59:59.999Z",): 3,
            ("2027-01-01T00:00:00.000Z",): 2,
        }
    )


def test_a_clock_set_back_to_an_earlier_day_records_in_that_day(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, clock: Clock
) -> None:
    # The meter caches the current day's bounds: leaving them either way recomputes.
    meter = make_meter()
    for moment in [(3, 9), (2, 23), (3, 0), (3, 10), (4, 0)]:
        clock.set(datetime(2026, 3, moment[0], moment[1], 0, tzinfo=UTC))
        meter.record(ORG, "GetCards", "t")
    clock.set(datetime(2026, 3, 4, 12, 0, tzinfo=UTC))
    assert meter.flush(WAIT)
    assert tallyboard.calls("time") == Counter(
        {
            ("2026-03-02T23:59:59.999Z",): 1,
            ("2026-03-03T23:59:59.999Z",): 3,
            ("2026-03-04T12:00:00.000Z",): 1,
        }
    )


def test_a_key_flushed_days_later_keeps_its_day(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, clock: Clock
) -> None:
    meter = make_meter()
    clock.set(datetime(2026, 2, 28, 8, 0, tzinfo=UTC))
    meter.record(ORG, "GetCards", "t")
    clock.set(datetime(2026, 3, 3, 12, 0, tzinfo=UTC))  # e.g. after a long outage
    meter.record(ORG, "GetCards", "t")
    assert meter.flush(WAIT)
    assert tallyboard.calls("time") == Counter(
        {("2026-02-28T23:59:59.999Z",): 1, ("2026-03-03T12:00:00.000Z",): 1}
    )


def test_close_delivers_what_is_left_and_later_calls_are_dropped(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    with make_meter() as meter:
        meter.record(ORG, "GetCards", "t", count=9)
    assert tallyboard.total() == 9 and meter.delivered == 9
    meter.record(ORG, "GetCards", "t")
    assert meter.dropped == 1 and meter.flush(0.1)
    assert meter.close() is True  # idempotent
    assert tallyboard.total() == 9


def test_close_gives_up_after_close_timeout_and_says_what_is_pending(
    make_meter: MeterFactory, tallyboard: FakeTallyboard, caplog: pytest.LogCaptureFixture
) -> None:
    tallyboard.script = [lambda _: httpx.Response(503)] * 10_000
    meter = make_meter(close_timeout=0.2)
    meter.record(ORG, "GetCards", "t", count=4)
    assert meter.flush(0.05) is False
    with caplog.at_level(logging.ERROR, "tallyboard_client"):
        assert meter.close() is False
    assert meter.pending == 4 and meter.retries > 0
    assert "4 calls not acknowledged" in caplog.text


def test_a_count_beyond_what_one_event_carries_is_split(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter()
    meter.record(ORG, "GetCards", "t", count=1_500_000_000)
    meter.record(ORG, "GetCards", "t", count=600_000_000)
    assert meter.flush(WAIT)
    counts = sorted(e["data"]["count"] for e in as_json(tallyboard.bodies[0]))
    assert counts == [100_000_000, 1_000_000_000, 1_000_000_000]


def test_large_flushes_are_sent_in_several_requests(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter(batch_size=100)
    for i in range(250):
        meter.record(ORG, f"Op{i}", "t")
    assert meter.flush(WAIT)
    assert [len(body.split(b"\n")) for body in tallyboard.bodies] == [100, 100, 50]
    assert meter.delivered == 250


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="source"):
        UsageMeter("http://tallyboard.test", "k", "")
    with pytest.raises(ValueError, match="max_keys"):
        UsageMeter("http://tallyboard.test", "k", "s", max_keys=0)


def test_record_refuses_a_count_below_one(make_meter: MeterFactory) -> None:
    with pytest.raises(ValueError, match="count"):
        make_meter().record(ORG, "GetCards", "t", count=0)


def test_threads_recording_during_flushes_and_failures_count_exactly(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    tallyboard.script = [
        (lambda _: httpx.Response(503)) if i % 3 == 0 else (lambda _: None) for i in range(200)
    ]
    meter = make_meter(flush_interval=0.002)
    threads = 8
    per_thread = 5_000

    flushed_midway = threading.Event()

    def work(worker: int) -> None:
        for i in range(per_thread):
            if worker == 0 and i == per_thread // 2:
                # Recording is fast enough to finish between two flushes: hold one
                # thread half-way until the flusher has posted (and failed) meanwhile.
                deadline = time.monotonic() + WAIT
                while len(tallyboard.bodies) < 2 and time.monotonic() < deadline:
                    time.sleep(0.001)
                if len(tallyboard.bodies) >= 2:
                    flushed_midway.set()
            meter.record(ORG if i % 2 else OTHER_ORG, f"Op{i % 7}", f"token-{worker % 3}")

    pool = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(WAIT * 6)
    assert meter.close()
    assert tallyboard.total() == threads * per_thread == meter.delivered
    assert flushed_midway.is_set()  # the flusher really ran while threads recorded
    by_org = tallyboard.calls("organization")
    assert by_org == Counter(
        {(ORG,): threads * per_thread // 2, (OTHER_ORG,): threads * per_thread // 2}
    )


def test_asyncio_tasks_recording_count_exactly(
    make_meter: MeterFactory, tallyboard: FakeTallyboard
) -> None:
    meter = make_meter(flush_interval=0.002)

    async def handler(n: int) -> None:
        for i in range(200):
            meter.record(ORG, f"Op{(n + i) % 5}", "async")
            await asyncio.sleep(0)

    async def main() -> None:
        await asyncio.gather(*(handler(n) for n in range(50)))
        assert await meter.aflush(WAIT)

    asyncio.run(main())
    assert tallyboard.total() == 50 * 200
    assert sum(tallyboard.calls("operationName").values()) == 10_000
