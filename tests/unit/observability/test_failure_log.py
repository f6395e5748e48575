"""One log line per failure kind per interval: the first with its traceback, then counts."""

from __future__ import annotations

import logging

import pytest

from tallyboard.observability.failures import FailureLog
from tallyboard.observability.metrics import Metrics


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _fail(message: str) -> Exception:
    try:
        raise KeyError(message)
    except KeyError as exc:
        return exc


def test_the_first_failure_of_a_kind_has_its_traceback_then_one_count_per_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, metrics = Clock(), Metrics()
    failures = FailureLog(metrics, interval=10.0, now=clock)
    caplog.set_level(logging.ERROR, logger="tallyboard.failures")
    for _ in range(50):
        failures.record("database:SQLITE_FULL", _fail("full"), "POST /v1/events")
        clock.now += 0.1  # 50 failures in 5 s: one interval
    failures.record("bug:KeyError", _fail("x"), "POST /graphql")  # another kind: its own line
    assert [r.kind for r in caplog.records] == ["database:SQLITE_FULL", "bug:KeyError"]  # type: ignore[attr-defined]
    assert all(r.exc_info for r in caplog.records)

    caplog.clear()
    clock.now += 6.0  # the interval is over
    failures.record("database:SQLITE_FULL", _fail("full"), "POST /v1/events")
    (summary,) = caplog.records
    assert summary.count == 50  # type: ignore[attr-defined]  # 49 counted + this one
    assert summary.exc_info is None
    assert "50 more failures of kind database:SQLITE_FULL" in summary.getMessage()

    caplog.clear()
    clock.now += 60.0  # quiet for a long time: the next one is a first again
    failures.record("database:SQLITE_FULL", _fail("full"), "POST /v1/events")
    (again,) = caplog.records
    assert again.exc_info is not None

    rendered = metrics.render().decode()
    assert 'tallyboard_failures_total{kind="database:SQLITE_FULL"} 52.0' in rendered
    assert 'tallyboard_failures_total{kind="bug:KeyError"} 1.0' in rendered
