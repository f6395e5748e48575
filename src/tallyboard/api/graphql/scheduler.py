"""Where a GraphQL request runs: on the event loop or on a worker thread (decisions 0009, 0014).

On PostgreSQL a request always runs on a worker thread: a round trip can hang (a
stalled server, a cut network) and nothing that can hang may run on the event loop. On
SQLite a document runs on the event loop while its executions are known to stay within
``INLINE_BUDGET`` of CPU (no thread hop, no GIL hand-offs between threads) *and* its
reads never wait: a read that would wait for a lock gives up at once and the request is
run again on a worker thread; a document that overruns the budget inline goes back to
threads. What is learnt about a document lives in its :class:`Placement`, kept with the
cached document.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import anyio.to_thread

__all__ = [
    "INLINE_BUDGET",
    "PROBATION",
    "STRIKES",
    "WAIT_BUDGET",
    "Placement",
    "Scheduler",
    "judge_inline",
    "place",
]

INLINE_BUDGET = 0.005
"""Seconds a document's execution may block the event loop; slower ones use threads."""
WAIT_BUDGET = 0.05
"""Wall-clock seconds an inline run may take (waiting on the database included)."""
STRIKES = 3
"""Over-budget inline runs (net of good ones) that send a document back to threads."""
PROBATION = 200
"""Thread runs a document that overran the budget inline serves before trying again."""


class Placement:
    """Where the endpoint runs a document: on the event loop while its executions
    stay short, else on a worker thread (decision 0009). Mutated without a lock: a lost
    update only moves one request to the other side."""

    __slots__ = ("inline", "probation", "strikes")

    def __init__(self) -> None:
        self.inline = False
        self.strikes = 0
        """Inline runs over budget, net of good ones (a lone cache refill is forgiven)."""
        self.probation = 0
        """Thread runs left before a demoted document may run inline again."""


def judge_inline(placement: Placement, cpu: float, wall: float) -> None:
    """After an inline run: a long wait (a slow database) sends the document back to
    threads at once; CPU over budget does after ``STRIKES`` more bad runs than good ones,
    so alternating cheap and expensive runs cannot keep it on the loop."""
    if wall > WAIT_BUDGET:
        placement.strikes = STRIKES
    elif cpu > INLINE_BUDGET:
        placement.strikes += 1
    elif placement.strikes:
        placement.strikes -= 1
    if placement.strikes >= STRIKES:
        placement.inline = False
        placement.probation = PROBATION
        placement.strikes = 0


def place(placement: Placement, elapsed: float) -> None:
    """After a thread run: a document that executes within budget may run inline."""
    if placement.probation > 0:
        placement.probation -= 1
    elif elapsed <= INLINE_BUDGET:
        placement.inline = True


class Ran(Protocol):
    """What the scheduler needs to know of a run's outcome."""

    @property
    def executed(self) -> bool:
        """The document ran (a refusal before execution says nothing about its cost)."""


T = TypeVar("T", bound=Ran)


class Scheduler(Generic[T]):
    """Runs ``work(nowait)`` inline or on a worker thread and learns from each run.

    ``work`` returns None only when a ``nowait`` run met a lock (everything it did was
    reads, so running it again on a thread is safe)."""

    def __init__(self, *, inline_allowed: bool, on_fallback: Callable[[], None]) -> None:
        self._inline_allowed = inline_allowed
        self._on_fallback = on_fallback

    async def run(
        self,
        known: Placement | None,
        work: Callable[[bool], T | None],
        placement_after: Callable[[], Placement | None],
    ) -> T:
        """``known``: the placement of the document if it was cached before this request;
        ``placement_after``: its placement once a thread run prepared it."""
        if known is not None and known.inline and self._inline_allowed:
            started, cpu_started = time.perf_counter(), time.thread_time()
            outcome = work(True)
            cpu = time.thread_time() - cpu_started
            if outcome is None:  # a read would have waited for a lock: run it on a thread
                self._on_fallback()
                judge_inline(known, cpu, float("inf"))
            else:
                # CPU over budget, or a long wait (a slow disk): back to threads. Wall
                # time alone would also punish the document for the OS preempting us.
                if outcome.executed:
                    judge_inline(known, cpu, time.perf_counter() - started)
                return outcome
        return await anyio.to_thread.run_sync(self._in_thread, work, placement_after)

    @staticmethod
    def _in_thread(
        work: Callable[[bool], T | None], placement_after: Callable[[], Placement | None]
    ) -> T:
        # CPU time, not wall time: waiting for the GIL behind other threads (which an
        # inline run does not do) must not keep a cheap document off the loop.
        started = time.thread_time()
        outcome = work(False)
        assert outcome is not None  # only a nowait run gives up
        elapsed = time.thread_time() - started
        placement = placement_after()
        if outcome.executed and placement is not None:
            place(placement, elapsed)
        return outcome
