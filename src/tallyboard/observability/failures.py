"""Failures on the server's side, logged once per kind per interval.

During a database outage every request fails the same way; a traceback per request
(7.8 KB each) buries the log and costs I/O exactly when the process is struggling.
So the first failure of a kind is logged with its traceback, further ones of that kind
are only counted, and at most one line per kind per ``interval`` reports the count.
Every failure still counts in ``tallyboard_failures_total{kind}`` (docs/operations.md).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from tallyboard.observability.metrics import Metrics

__all__ = ["FailureLog"]

log = logging.getLogger("tallyboard.failures")


@dataclass(slots=True)
class _Kind:
    logged_at: float
    suppressed: int = 0


class FailureLog:
    """Thread-safe: failures are recorded from the event loop and from worker threads."""

    def __init__(
        self,
        metrics: Metrics,
        interval: float = 60.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._metrics = metrics
        self._interval = interval
        self._now = now
        self._kinds: dict[str, _Kind] = {}
        self._lock = threading.Lock()

    def record(self, kind: str, exc: BaseException, what: str) -> None:
        """One failure of ``kind`` (``database:SQLITE_FULL``, ``bug:KeyError``...).

        ``what`` says what failed, for the log line (``POST /v1/events``)."""
        self._metrics.failures.labels(kind).inc()
        now = self._now()
        with self._lock:
            state = self._kinds.get(kind)
            if state is not None and now - state.logged_at < self._interval:
                state.suppressed += 1
                return
            repeated = state.suppressed if state is not None else 0
            self._kinds[kind] = _Kind(now)
        if repeated:
            log.error(
                "%s: %d more failures of kind %s in the last %.0f s (the first was logged "
                "with its traceback); latest: %s",
                what,
                repeated + 1,
                kind,
                now - state.logged_at if state is not None else 0.0,
                _summary(exc),
                extra={"kind": kind, "count": repeated + 1},
            )
            return
        log.error(
            "%s failed (%s): %s; repeats of this kind are counted, one line per %.0f s",
            what,
            kind,
            _summary(exc),
            self._interval,
            exc_info=(type(exc), exc, exc.__traceback__),
            extra={"kind": kind},
        )


def _summary(exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    first = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {first[0][:300]}" if first else type(cause).__name__
