"""Bounded ingestion: a few batches write at once, a few more may wait, the rest get 429.

Queueing without bound would turn a slow database into unbounded memory and latency
for every client; refusing early with ``Retry-After`` lets producers back off and
retry (safe: events are deduplicated).

A batch takes one of the ``concurrency + queue`` places only once its body has
*arrived*: a sender that trickles its body (or stops) holds no place, so slow senders
cannot lock producers out (issue 11, item 6); the body's pace is bounded by the body
timeout instead. Bodies being read are bounded by bytes actually received, not by
their number: every chunk is charged to a byte budget (by default what the admitted
places may hold, ``(concurrency + queue) x max body``) and a chunk beyond it is 429.
A trickling sender costs a few bytes of it, a fast one its real size. All counters
are touched only on the event loop, so they need no lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import anyio

from tallyboard.domain.errors import OverloadedError
from tallyboard.observability.metrics import Metrics

__all__ = ["Backpressure", "BodyAllowance"]

_AT_CAPACITY = "Ingestion is at capacity; retry the same batch after Retry-After seconds"


class BodyAllowance:
    """The bytes one request's body has charged to the shared budget."""

    __slots__ = ("_gate", "charged")

    def __init__(self, gate: Backpressure) -> None:
        self._gate = gate
        self.charged = 0

    def charge(self, size: int) -> None:
        self._gate._reserve(size)
        self.charged += size


class Backpressure:
    def __init__(
        self,
        concurrency: int,
        queue: int,
        metrics: Metrics,
        retry_after: int = 1,
        buffer_bytes: int | None = None,
    ) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be at least 1 and queue at least 0")
        self._concurrency = concurrency
        self._capacity = concurrency + queue
        self._inside = 0
        self._slots: anyio.Semaphore | None = None
        self._metrics = metrics
        self.retry_after = retry_after
        self._buffer_limit = buffer_bytes
        self._buffered = 0

    @property
    def inside(self) -> int:
        """Batches admitted and not finished (writing or waiting to write)."""
        return self._inside

    @property
    def buffered(self) -> int:
        """Body bytes held by requests being read or admitted."""
        return self._buffered

    def _refuse(self) -> OverloadedError:
        self._metrics.ingest_batches.labels("overloaded").inc()
        return OverloadedError(_AT_CAPACITY, self.retry_after)

    def check(self) -> None:
        """Refuse at once when every place is taken (no point reading the body)."""
        if self._inside >= self._capacity:
            raise self._refuse()

    def _reserve(self, size: int) -> None:
        if self._buffer_limit is not None and self._buffered + size > self._buffer_limit:
            raise self._refuse()
        self._buffered += size

    @contextmanager
    def buffering(self) -> Iterator[BodyAllowance]:
        """Charge a body's bytes while the request lives; released when it ends."""
        allowance = BodyAllowance(self)
        try:
            yield allowance
        finally:
            self._buffered -= allowance.charged

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a place among the admitted batches, or raise ``OverloadedError``."""
        self.check()
        self._inside += 1
        try:
            yield
        finally:
            self._inside -= 1

    @asynccontextmanager
    async def writing(self) -> AsyncIterator[None]:
        """Wait (within the admitted bound) for one of the ``concurrency`` write slots."""
        if self._slots is None:  # created on the loop that uses it
            self._slots = anyio.Semaphore(self._concurrency)
        async with self._slots:
            yield
