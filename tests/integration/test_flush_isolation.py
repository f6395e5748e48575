"""A key the database refuses cannot poison a metering flush, on both engines (issue 11
item 2): it is set aside, counted and logged once, and the rest of the batch commits under
the flush id -- exactly once (decision 0005), however the attempt is retried.

The keys here bypass the edge's bounds on purpose: this is the last line of defence.
"""

from __future__ import annotations

import asyncio
import logging
import random
import string
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import ApiCallKey, RollupDeltas
from tallyboard.domain.usage import ApiDimension
from tallyboard.metering.accumulator import Accumulator
from tallyboard.metering.flusher import Flusher, FlushOutcome
from tallyboard.observability.metrics import Metrics
from tallyboard.storage.database import Database
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.flushes import flush_applied
from tests.support.rollup_writes import monthly, new_org

DAY = date(2026, 11, 21)
_NOISE = random.Random(5)
LONG = "Op" + "".join(_NOISE.choice(string.ascii_letters) for _ in range(4_000))

Refusal = Callable[[int], ApiCallKey]
REFUSALS: dict[str, tuple[Refusal, set[str]]] = {
    # what the key holds: (the key, for a real organization pk; engines that refuse it)
    "an organization deleted meanwhile": (
        lambda org: (10**9, DAY, "GetCards", "bot"),
        {"sqlite", "postgresql"},
    ),
    "a lone surrogate": (lambda org: (org, DAY, "Get\ud800Cards", "bot"), {"sqlite", "postgresql"}),
    "a NUL": (lambda org: (org, DAY, "Get\x00Cards", "bot"), {"postgresql"}),
    "a name past the index entry limit": (lambda org: (org, DAY, LONG, "bot"), {"postgresql"}),
}


def _batch(org_a: int, org_b: int, bad: ApiCallKey) -> RollupDeltas:
    batch = RollupDeltas()
    for key, calls in [
        ((org_a, DAY, "GetCards", "bot"), 3),
        ((org_a, DAY, "ListFlows", "alice - laptop"), 2),
        (bad, 5),
        ((org_b, DAY, "GetCards", "bot"), 4),
    ]:
        batch.add_api_calls(key, calls)
    return batch


@pytest.mark.parametrize(
    ("refusal", "engine"),
    [
        pytest.param(refusal, engine, marks=getattr(pytest.mark, engine), id=f"{engine}-{refusal}")
        for refusal, (_, engines) in REFUSALS.items()
        for engine in ("sqlite", "postgres")
        if (engine if engine == "sqlite" else "postgresql") in engines
    ],
)
def test_a_refused_key_is_set_aside_and_the_rest_commits_exactly_once(
    refusal: str, engine: str, request: pytest.FixtureRequest
) -> None:
    database = Database(request.getfixturevalue(f"{engine}_url"))
    make_key, _ = REFUSALS[refusal]
    org_a, org_b = new_org(database), new_org(database)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    bad = make_key(org_a)
    flush_id = str(uuid.uuid4())
    result = store.apply(flush_id, _batch(org_a, org_b, bad), applied_at_ms=1_000)
    assert result.applied and flush_applied(database, flush_id)
    ((refused, reason),) = [(r.deltas.api_calls, r.reason) for r in result.refused]
    assert refused == {bad: 5} and reason
    expected_a = {"GetCards": 3, "ListFlows": 2}
    assert monthly(database, org_a, ApiDimension.OPERATION_NAME) == expected_a
    assert monthly(database, org_a, ApiDimension.TOTAL) == {"": 5}
    assert monthly(database, org_b, ApiDimension.TOTAL) == {"": 4}
    # The retry of an attempt whose outcome was unknown: nothing is counted twice.
    again = store.apply(flush_id, _batch(org_a, org_b, bad), applied_at_ms=2_000)
    assert not again.applied and not again.refused
    assert monthly(database, org_a, ApiDimension.TOTAL) == {"": 5}
    assert monthly(database, org_b, ApiDimension.TOTAL) == {"": 4}
    database.dispose()


def test_concurrent_attempts_of_a_poisoned_batch_commit_once(database_url: str) -> None:
    database = Database(database_url)
    org_a, org_b = new_org(database), new_org(database)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    flush_id = str(uuid.uuid4())
    bad = (10**9, DAY, "GetCards", "bot")
    outcomes: list[tuple[bool, int]] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        result = store.apply(flush_id, _batch(org_a, org_b, bad), applied_at_ms=1_000)
        outcomes.append((result.applied, len(result.refused)))

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(outcomes) == [(False, 0), (False, 0), (False, 0), (True, 1)]
    assert monthly(database, org_a, ApiDimension.TOTAL) == {"": 5}
    assert monthly(database, org_b, ApiDimension.TOTAL) == {"": 4}
    database.dispose()


def test_the_flusher_counts_and_logs_a_refused_key_once_and_keeps_metering(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    database = Database(database_url)
    org_a, org_b = new_org(database), new_org(database)
    metrics = Metrics()
    accumulator = Accumulator(1_000, metrics)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    now = FixedClock(datetime(2026, 11, 21, 10, 30, tzinfo=UTC))
    flusher = Flusher(accumulator, store, metrics, now, interval=60)
    bad = (org_a, DAY, "Get\ud800Cards", "bot")

    async def scenario() -> None:
        for key, calls in _batch(org_a, org_b, bad).api_calls.items():
            accumulator.record(key, calls)
        assert await flusher.flush() is FlushOutcome.APPLIED
        accumulator.record((org_b, DAY, "GetCards", "bot"), 1)  # metering goes on
        assert await flusher.flush() is FlushOutcome.APPLIED

    with caplog.at_level(logging.WARNING, logger="tallyboard.metering.flusher"):
        asyncio.run(scenario())
    assert flusher.pending is None
    assert monthly(database, org_a, ApiDimension.TOTAL) == {"": 5}
    assert monthly(database, org_b, ApiDimension.TOTAL) == {"": 5}
    assert metrics.registry.get_sample_value("tallyboard_metering_refused_calls_total") == 5
    (record,) = caplog.records  # one line: no failed flush, no retry
    assert record.levelno == logging.ERROR and "refused one key" in record.getMessage()
    assert record.__dict__["org_pk"] == org_a and record.__dict__["calls"] == 5
    assert record.__dict__["operation_name"] == "Get\ud800Cards"
    assert "UnicodeEncodeError" in record.__dict__["reason"]
    database.dispose()
