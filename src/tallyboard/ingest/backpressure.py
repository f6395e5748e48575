"""Bounded ingestion: a few batches write at once, a few more may wait, the rest get 429.

Queueing without bound would turn a slow database into unbounded memory and latency
for every client; refusing early with ``Retry-After`` lets producers back off and
retry (safe: events are deduplicated). Admission happens *before* the body is read,
so at most ``concurrency + queue`` bodies are buffered per process. All counters are
touched only on the event loop, so they need no lock.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio

from tallyboard.domain.errors import OverloadedError
from tallyboard.observability.metrics import Metrics

__all__ = ["Backpressure"]


class Backpressure:
    def __init__(
        self, concurrency: int, queue: int, metrics: Metrics, retry_after: int = 1
    ) -> None:
        if concurrency < 1 or queue < 0:
            raise ValueError("concurrency must be at least 1 and queue at least 0")
        self._concurrency = concurrency
        self._capacity = concurrency + queue
        self._inside = 0
        self._slots: anyio.Semaphore | None = None
        self._metrics = metrics
        self.retry_after = retry_after

    @property
    def inside(self) -> int:
        """Requests admitted and not finished (writing, waiting or reading their body)."""
        return self._inside

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold a place among the admitted requests, or raise ``OverloadedError``."""
        if self._inside >= self._capacity:
            self._metrics.ingest_batches.labels("overloaded").inc()
            raise OverloadedError(
                "Ingestion is at capacity; retry the same batch after Retry-After seconds",
                self.retry_after,
            )
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
