"""``UsageMeter``: count API calls in memory, send pre-aggregated events in the background.

``record()`` is the request path: one dict increment under a lock, no I/O, safe from any
thread and from an event loop (the lock is only ever held for a dict operation; the
flusher holds it to swap the dict, never across I/O). A daemon thread sends, every
``flush_interval``, one ``api.call`` event per (organization, UTC day, operation, token,
status) with the summed ``count``.

Exactly once, end to end: a batch's ids are fixed when it is taken, *before* its first
attempt, and every retry resends the same bytes, so a batch that was committed but whose
answer was lost comes back as duplicates instead of being counted twice. While a batch is
being retried, new calls accumulate in a fresh dict beside it and are taken only once it
is acknowledged: the in-flight batch never changes. ``max_keys`` bounds the keys not yet
acknowledged (in flight plus accumulating); beyond it, calls on new keys are dropped and
counted in ``dropped``. Events the server rejects (``rejected`` in its answer, or a
request refused as a whole, e.g. a revoked ingest key) are counted in ``rejected`` and
never retried.

Why a lock and not a lock-free queue: see docs/decisions/0015-producer-library.md (the
benchmark's ``producer_overhead`` section measures both).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx

from tallyboard_client import _lifecycle
from tallyboard_client._events import Key, day_bounds, encode_batch, new_id_prefix
from tallyboard_client.ingest import (
    MAX_BYTES_PER_REQUEST,
    IngestClient,
    IngestError,
    RetryableIngestError,
    backoff_delay,
    chunk_lines,
)

__all__ = ["UsageMeter"]

logger = logging.getLogger("tallyboard_client")

_REJECTED = (
    "tallyboard meter %s: Tallyboard rejected events (%s); they are dropped and counted in "
    "meter.rejected (logged once per kind)"
)


class UsageMeter:
    """Pre-aggregating meter of API calls for one producer process.

    ``url`` is Tallyboard's base URL, ``ingest_key`` an ingest key, ``source`` names the
    producer (several meters may share one). ``clock`` returns the time as epoch seconds
    (injectable for tests). ``close_timeout`` bounds how long ``close()``, leaving a
    ``with`` block and interpreter exit wait for the last delivery (``None``: as long as
    it takes).
    """

    def __init__(
        self,
        url: str,
        ingest_key: str,
        source: str,
        flush_interval: float = 1.0,
        max_keys: int = 100_000,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = 10.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        batch_size: int = 1000,
        close_timeout: float | None = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not isinstance(source, str) or not 1 <= len(source) <= 128:
            raise ValueError("source must be a string of 1 to 128 characters")
        if not flush_interval > 0:
            raise ValueError("flush_interval must be positive")
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.source = source
        self.flush_interval = flush_interval
        self.max_keys = max_keys
        self.close_timeout = close_timeout
        self._clock = clock
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._new_client: Callable[[], IngestClient] = lambda: IngestClient(
            url,
            ingest_key,
            timeout=timeout,
            batch_size=batch_size,
            max_attempts=1,
            transport=transport,
        )
        self._timeout = timeout
        self._start()
        _lifecycle.opened(self)  # delivered at exit if never closed, reset in a fork

    def _start(self) -> None:
        """(Re)initialize every piece of state; also run in a forked child."""
        self._client = self._new_client()
        self._lock = threading.Lock()
        self._acknowledged = threading.Condition(self._lock)
        self._counts: dict[Key, int] = {}
        self._today: tuple[int, float, float] = (0, 0.0, 0.0)  # day, start, end (none yet)
        self._in_flight_keys = 0
        self._in_flight_calls = 0
        self._taken = 0  # batches taken by the flusher so far
        self._done = 0  # ... of which acknowledged (or given up on)
        self._prefix = new_id_prefix()
        self._seq = 0
        self._closing = False
        self._deadline: float | None = None
        self._wake = threading.Event()
        self._interrupt = threading.Event()
        self._logged: set[str] = set()
        self._outage = False
        self._dropping = False
        self.delivered = 0
        """Calls acknowledged by Tallyboard (accepted, or duplicates of an earlier try)."""
        self.dropped = 0
        """Calls not metered: their key was new while ``max_keys`` keys were unacknowledged,
        or they were recorded after ``close()``."""
        self.rejected = 0
        """Calls in events Tallyboard rejected (never retried)."""
        self.retries = 0
        """Requests sent again after a failed attempt."""
        self.duplicates = 0
        """Events Tallyboard already had: a retry of a batch whose answer was lost."""
        self.errors: dict[str, int] = {}
        """Requests the middleware could not meter, by kind (see ``note_error``)."""
        self._thread = threading.Thread(
            target=self._run, name=f"tallyboard-meter-{self.source}", daemon=True
        )
        self._thread.start()

    # ------------------------------------------------------------ request path

    def record(
        self,
        organization: str,
        operation_name: str | None,
        token_name: str,
        status: int = 200,
        count: int = 1,
    ) -> None:
        """Count ``count`` calls (in memory only; never blocks on I/O, never raises for
        a full meter: the calls are counted in ``dropped`` instead). Every metered request
        runs this: one clock read checked against the cached bounds of the UTC day, the
        key tuple, a dict increment under the lock (acquire/release: cheaper than ``with``)."""
        if count < 1:
            raise ValueError("count must be at least 1")
        now = self._clock()
        day, start, end = self._today
        if not start <= now < end:  # a new day (or a clock set back): recompute once
            day, start, end = self._today = day_bounds(now)
        key = (organization, day, operation_name, token_name, status)
        lock = self._lock
        lock.acquire()
        try:
            if not self._closing:
                counts = self._counts
                current = counts.get(key)
                if current is not None:
                    counts[key] = current + count
                    return
                if len(counts) + self._in_flight_keys < self.max_keys:
                    counts[key] = count
                    return
            self.dropped += count
            starting = not self._dropping
            self._dropping = True
        finally:
            lock.release()
        if starting:
            why = "the meter is closed" if self._closing else f"{self.max_keys} keys unacknowledged"
            logger.warning(
                "tallyboard meter %s: dropping calls (%s); counted in meter.dropped",
                self.source,
                why,
            )

    def note_error(self, kind: str, exc: BaseException | None = None) -> None:
        """Count a request that could not be metered, logging the first of each kind."""
        with self._lock:
            seen = self.errors.get(kind, 0)
            self.errors[kind] = seen + 1
        if not seen:
            logger.warning(
                "tallyboard metering: %s; such requests are not metered "
                "(logged once per kind, counted in meter.errors)",
                kind,
                exc_info=exc,
            )

    @property
    def pending(self) -> int:
        """Calls recorded but not yet acknowledged, rejected or dropped."""
        with self._lock:
            return sum(self._counts.values()) + self._in_flight_calls

    # ------------------------------------------------------------ control

    def flush(self, timeout: float | None = None) -> bool:
        """Send everything recorded so far now; return once Tallyboard acknowledged it
        (``True``), or ``False`` if ``timeout`` seconds passed first. Rejections do not
        raise: they are counted in ``rejected``. Blocks: from async code use
        :meth:`aflush`."""
        with self._lock:
            if self._closing:
                return not self._counts and not self._in_flight_calls
            target = self._taken + 1  # the next batch taken holds every call so far
        self._wake.set()
        with self._acknowledged:
            return self._acknowledged.wait_for(lambda: self._done >= target, timeout)

    def close(self) -> bool:
        """Stop recording, deliver what is left and stop the flusher (waiting at most
        ``close_timeout``). Returns whether everything recorded was acknowledged;
        calls recorded afterwards are counted in ``dropped``. Idempotent."""
        with self._lock:
            if not self._closing:
                self._closing = True
                if self.close_timeout is not None:
                    self._deadline = time.monotonic() + self.close_timeout
        self._wake.set()
        self._interrupt.set()
        grace = None if self.close_timeout is None else self.close_timeout + self._timeout + 1
        self._thread.join(grace)
        _lifecycle.closed(self)
        undelivered = self.pending
        if undelivered:
            logger.error(
                "tallyboard meter %s: closed with %d calls not acknowledged by Tallyboard",
                self.source,
                undelivered,
            )
        if not self._thread.is_alive():
            self._client.close()
        return undelivered == 0

    async def aflush(self, timeout: float | None = None) -> bool:
        """:meth:`flush` without blocking the event loop."""
        return await asyncio.to_thread(self.flush, timeout)

    async def aclose(self) -> bool:
        """:meth:`close` without blocking the event loop."""
        return await asyncio.to_thread(self.close)

    def __enter__(self) -> UsageMeter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------ the flusher thread

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            stopping = self._closing
            self._cycle()
            if stopping:
                return

    def _cycle(self) -> None:
        """Take the accumulated counts as one batch and deliver it before taking more."""
        with self._lock:
            taken, self._counts = self._counts, {}
            self._in_flight_keys = len(taken)
            self._in_flight_calls += sum(taken.values())
            self._taken += 1
            seq = self._taken
        try:
            if taken:
                self._deliver_all(taken)
        except Exception:  # a bug must not kill the flusher (or hang flush())
            logger.exception("tallyboard meter %s: flush failed", self.source)
        finally:
            with self._acknowledged:
                # Calls of a batch given up at close stay counted in ``pending``.
                self._in_flight_keys = 0
                self._dropping = False
                self._done = seq
                self._acknowledged.notify_all()

    def _deliver_all(self, taken: dict[Key, int]) -> None:
        batch, self._seq = encode_batch(taken, self.source, self._prefix, self._seq, self._clock())
        if batch.unencodable:
            self._count_rejected(batch.unencodable, "values that cannot be encoded as JSON")
        start = 0
        max_bytes = min(self._client.max_batch_bytes, MAX_BYTES_PER_REQUEST)
        for lines in chunk_lines(batch.lines, self._client.batch_size, max_bytes):
            counts = batch.counts[start : start + len(lines)]
            start += len(lines)
            if not self._deliver(b"\n".join(lines), counts):
                return  # closing and out of time: the rest stays pending

    def _deliver(self, body: bytes, counts: list[int]) -> bool:
        """Send one request until acknowledged; ``False`` only when giving up at close."""
        attempt = 0
        while True:
            try:
                response = self._client.post_once(body)
            except RetryableIngestError as exc:
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    return False
                if self._interrupt.wait(delay):
                    self._interrupt.clear()  # close(): try once more right away
                attempt += 1
                self.retries += 1
                continue
            except IngestError as exc:  # refused as a whole (revoked key, ...): final
                self._count_rejected(sum(counts), exc.message)
                return True
            self._acknowledge(response, counts)
            return True

    def _retry_delay(self, exc: RetryableIngestError, attempt: int) -> float | None:
        if not self._outage:
            self._outage = True
            logger.warning(
                "tallyboard meter %s: delivery failed (%s); retrying with the same ids "
                "while new calls accumulate",
                self.source,
                exc.message,
            )
        delay = backoff_delay(attempt, self._backoff, self._max_backoff)
        if exc.retry_after is not None:
            delay = min(exc.retry_after, self._max_backoff)
        if self._closing and self._deadline is not None:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                return None
            delay = min(delay, remaining)
        return delay

    def _acknowledge(self, response: dict[str, Any], counts: list[int]) -> None:
        if self._outage:
            self._outage = False
            logger.info("tallyboard meter %s: delivering again", self.source)
        refused = 0
        for rejection in response["rejected"]:
            refused += counts[int(rejection["index"])]
            reason = f"{rejection.get('code')}: {rejection.get('message')}"
            self._log_once(str(rejection.get("code")), _REJECTED, self.source, reason)
        calls = sum(counts)
        with self._lock:
            self.rejected += refused
            self.delivered += calls - refused
            self.duplicates += int(response["duplicates"])
            self._in_flight_calls -= calls

    def _count_rejected(self, calls: int, reason: str) -> None:
        with self._lock:
            self.rejected += calls
            self._in_flight_calls -= calls
        self._log_once(reason.split(":", 1)[0], _REJECTED, self.source, reason)

    def _log_once(self, kind: str, message: str, *args: object) -> None:
        with self._lock:
            first = kind not in self._logged
            self._logged.add(kind)
        if first:
            logger.error(message, *args)

    def _after_fork(self) -> None:
        """In a forked child: the parent delivers what it had counted; start afresh
        (new ids, new connections, a new flusher) with nothing pending."""
        self._start()
