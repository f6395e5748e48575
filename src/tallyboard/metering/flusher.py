"""Moves accumulated billable calls into the rollups: periodically, and on shutdown.

Every ``interval`` seconds the accumulator is drained on the event loop into a
*pending batch* with a fresh flush id, which a worker thread writes in one transaction
together with that id (``storage/flush_store.py``). The guarantee (decision 0005):

- **No double counting.** A batch keeps its id and its content until an attempt is
  known to have committed. An attempt whose outcome is unknown is retried with the
  same id, and the id makes every attempt after the committed one a no-op.
- **No silent loss.** A failed batch stays pending and is retried with capped
  exponential backoff while new calls accumulate separately. Memory stays bounded:
  the pending batch's keys count against the accumulator's bound
  (``reserved_keys``), beyond which new keys are dropped, counted and logged.
- **No poisoned batch.** A key the database refuses for what it holds (not for being
  unreachable) is set aside by the store and the rest of the batch commits under its
  id; each set-aside key is counted (``tallyboard_metering_refused_calls``) and logged
  once at ERROR with its organization and a shortened name. Names are bounded at the
  edge, so this is a last line of defence, not a path anything should take.
- **Shutdown flushes.** ``stop()`` (the application lifespan; uvicorn runs it on
  SIGTERM after in-flight requests have answered) flushes whatever is left, retrying
  until a deadline, and logs loudly anything it could not confirm.

What remains at risk is one interval of calls of a process killed without warning
(SIGKILL, power loss).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Protocol

import anyio.to_thread

from tallyboard.domain.clock import Clock
from tallyboard.domain.rollup import ApiCallKey, RollupDeltas
from tallyboard.metering.accumulator import Accumulator
from tallyboard.observability.metrics import Metrics
from tallyboard.storage.flush_store import FlushResult, RefusedKey

__all__ = ["FlushOutcome", "FlushSink", "Flusher", "PendingBatch", "backoff_delay"]

log = logging.getLogger(__name__)

_SHUTDOWN_RETRY_BASE = 0.05
_SHUTDOWN_RETRY_CAP = 1.0


class FlushSink(Protocol):
    """Where batches go (``storage.flush_store.FlushStore``); blocking, called in a thread."""

    def apply(self, flush_id: str, deltas: RollupDeltas, applied_at_ms: int) -> FlushResult:
        """Apply once per id (``applied`` False when an earlier attempt with this id
        committed), setting aside keys refused for their content."""
        ...

    def prune(self, applied_before_ms: int) -> int: ...


class FlushOutcome(StrEnum):
    APPLIED = "applied"
    EMPTY = "empty"
    ALREADY_APPLIED = "already_applied"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PendingBatch:
    """A drained batch: written with exactly this id and content until it is confirmed."""

    flush_id: str
    counts: Mapping[ApiCallKey, int]

    @property
    def calls(self) -> int:
        return sum(self.counts.values())

    def deltas(self) -> RollupDeltas:
        return RollupDeltas(api_calls=dict(self.counts))


def backoff_delay(failures: int, interval: float, cap: float) -> float:
    """Seconds to wait before the next attempt after ``failures`` consecutive failures."""
    if failures <= 0:
        return interval
    return min(cap, interval * 2.0 ** min(failures, 32))


class Flusher:
    def __init__(
        self,
        accumulator: Accumulator,
        sink: FlushSink,
        metrics: Metrics,
        clock: Clock,
        *,
        interval: float,
        max_backoff: float = 30.0,
        shutdown_timeout: float = 10.0,
        flush_id_retention: timedelta = timedelta(days=7),
        prune_every: float = 3600.0,
    ) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        self._acc = accumulator
        self._sink = sink
        self._metrics = metrics
        self._clock = clock
        self._interval = interval
        self._max_backoff = max(max_backoff, interval)
        self._shutdown_timeout = shutdown_timeout
        self._retention = flush_id_retention
        self._prune_every = prune_every
        self._pending: PendingBatch | None = None
        self._failures = 0
        self._last_prune = float("-inf")
        self._lock: asyncio.Lock | None = None
        self._stopping: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def pending(self) -> PendingBatch | None:
        """The batch awaiting a retry after a failed attempt, if any."""
        return self._pending

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Start the periodic flush on the running event loop."""
        self._loop = asyncio.get_running_loop()
        self._lock = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="tallyboard-metering-flusher")

    async def stop(self) -> None:
        """Stop the periodic flush, then flush what is left, retrying until the deadline."""
        deadline = time.monotonic() + self._shutdown_timeout
        if self._stopping is not None:
            self._stopping.set()
        if self._task is not None:
            try:
                await asyncio.wait_for(self._task, timeout=self._shutdown_timeout)
            except TimeoutError:
                log.error("metering flusher did not stop in time; flushing what is left")
            self._task = None
        while self._pending is not None or len(self._acc):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                outcome = await asyncio.wait_for(self.flush(), timeout=remaining)
            except TimeoutError:
                break
            if outcome is FlushOutcome.FAILED:
                # Short pauses: a blip during a deploy should not cost the batch.
                pause = backoff_delay(self._failures, _SHUTDOWN_RETRY_BASE, _SHUTDOWN_RETRY_CAP)
                await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        self._report_unflushed()
        self._loop = None

    def _report_unflushed(self) -> None:
        leftovers = [b for b in (self._pending,) if b is not None]
        if len(self._acc):
            leftovers.append(PendingBatch("(never attempted)", self._acc.drain()))
        for batch in leftovers:
            by_org: dict[int, int] = {}
            for (org_pk, *_), calls in batch.counts.items():
                by_org[org_pk] = by_org.get(org_pk, 0) + calls
            # Not confirmed is not necessarily lost: an attempt whose outcome was unknown
            # may have committed. Either way an operator must hear about it.
            log.error(
                "metering: billable calls could not be confirmed as flushed before shutdown",
                extra={
                    "flush_id": batch.flush_id,
                    "calls": batch.calls,
                    "keys": len(batch.counts),
                    "calls_by_org_pk": by_org,
                },
            )
            self._metrics.metering_dropped.inc(batch.calls)
        self._pending = None
        self._acc.reserved_keys = 0

    async def _run(self) -> None:
        assert self._stopping is not None
        while True:
            delay = backoff_delay(self._failures, self._interval, self._max_backoff)
            if self._failures:
                delay *= random.uniform(0.8, 1.0)  # spread the retries of many processes
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
            except TimeoutError:
                pass
            else:
                return
            try:
                outcome = await self.flush()
                if outcome is not FlushOutcome.FAILED:
                    await self._maybe_prune()
            except Exception:  # the loop must outlive any bug in one cycle
                log.exception("metering flush cycle failed unexpectedly")

    # ------------------------------------------------------------ flushing

    async def flush(self) -> FlushOutcome:
        """Flush everything recorded so far: a pending retry first, then new calls.

        Runs on the event loop (the accumulator is only touched there); the write
        happens in a worker thread.
        """
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            retried = self._pending is not None
            outcome = await self._attempt()
            if retried and outcome is not FlushOutcome.FAILED:
                fresh = await self._attempt()
                if fresh is not FlushOutcome.EMPTY:
                    outcome = fresh
            return outcome

    def flush_now(self, timeout: float = 60.0) -> FlushOutcome:
        """Flush from another thread and wait for the outcome (tools and tests)."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the metering flusher is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("flush_now() would block the event loop: await flush() instead")
        return asyncio.run_coroutine_threadsafe(self.flush(), loop).result(timeout)

    async def _attempt(self) -> FlushOutcome:
        batch = self._pending
        if batch is None:
            counts = self._acc.drain()
            if not counts:
                self._metrics.metering_flushes.labels(FlushOutcome.EMPTY.value).inc()
                self._metrics.metering_buffer_keys.set(0)
                return FlushOutcome.EMPTY
            batch = PendingBatch(str(uuid.uuid4()), counts)
            self._pending = batch
            self._acc.reserved_keys = len(counts)
        self._metrics.metering_buffer_keys.set(len(self._acc) + self._acc.reserved_keys)
        applied_at_ms = int(self._clock.now().timestamp() * 1000)
        started = time.perf_counter()
        try:
            result = await anyio.to_thread.run_sync(
                self._sink.apply,
                batch.flush_id,
                batch.deltas(),
                applied_at_ms,
                abandon_on_cancel=True,
            )
        except Exception as exc:
            self._failures += 1
            self._metrics.metering_flushes.labels(FlushOutcome.FAILED.value).inc()
            log.warning(
                "metering flush failed; the batch is kept and retried with the same flush id",
                extra={
                    "flush_id": batch.flush_id,
                    "calls": batch.calls,
                    "keys": len(batch.counts),
                    "failures": self._failures,
                    "error": f"{type(exc).__name__}: {exc}",
                },
            )
            return FlushOutcome.FAILED
        finally:
            self._metrics.metering_flush_seconds.observe(time.perf_counter() - started)
        self._pending = None
        self._acc.reserved_keys = 0
        self._metrics.metering_buffer_keys.set(len(self._acc))
        self._set_aside(batch.flush_id, result.refused)
        if self._failures:
            log.info(
                "metering flush recovered",
                extra={"flush_id": batch.flush_id, "after_failures": self._failures},
            )
        self._failures = 0
        outcome = FlushOutcome.APPLIED if result.applied else FlushOutcome.ALREADY_APPLIED
        self._metrics.metering_flushes.labels(outcome.value).inc()
        return outcome

    def _set_aside(self, flush_id: str, refused: tuple[RefusedKey, ...]) -> None:
        """Count and log, once each, the keys the database refused (never retried)."""
        for item in refused:
            for (org_pk, day, operation, token), calls in item.deltas.api_calls.items():
                self._metrics.metering_refused.inc(calls)
                log.error(
                    "metering: the database refused one key of a flush; its calls were set "
                    "aside and the rest of the batch was committed",
                    extra={
                        "flush_id": flush_id,
                        "org_pk": org_pk,
                        "day": day.isoformat(),
                        "operation_name": _shortened(operation),
                        "operation_name_length": len(operation),
                        "token": _shortened(token),
                        "calls": calls,
                        "reason": item.reason,
                    },
                )

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < self._prune_every:
            return
        self._last_prune = time.monotonic()
        cutoff = self._clock.now() - self._retention
        try:
            pruned = await anyio.to_thread.run_sync(
                self._sink.prune, int(cutoff.timestamp() * 1000)
            )
        except Exception as exc:  # pruning is housekeeping: try again next time
            log.warning("pruning old metering flush ids failed", extra={"error": repr(exc)})
            return
        if pruned:
            log.info("pruned old metering flush ids", extra={"count": pruned})


def _shortened(text: str, keep: int = 64) -> str:
    """A client-chosen name, short enough for a log line."""
    return text if len(text) <= keep else f"{text[:keep]}... ({len(text)} characters)"
