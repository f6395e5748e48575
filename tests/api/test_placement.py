"""Where a cached document runs: on the event loop or on a worker thread (decision 0009)."""

from __future__ import annotations

from tallyboard.api.graphql.scheduler import (
    INLINE_BUDGET,
    PROBATION,
    STRIKES,
    WAIT_BUDGET,
    Placement,
)
from tallyboard.api.graphql.scheduler import judge_inline as _judge_inline
from tallyboard.api.graphql.scheduler import place as _place

CHEAP, COSTLY = INLINE_BUDGET / 10, INLINE_BUDGET * 2


def inline() -> Placement:
    placement = Placement()
    _place(placement, CHEAP)
    assert placement.inline
    return placement


def test_a_cheap_thread_run_moves_a_document_onto_the_loop_after_probation() -> None:
    placement = Placement()
    _place(placement, COSTLY)
    assert not placement.inline
    placement.probation = 2
    _place(placement, CHEAP)
    _place(placement, CHEAP)
    assert not placement.inline  # still serving its probation
    _place(placement, CHEAP)
    assert placement.inline


def test_a_slow_wait_sends_a_document_back_to_threads_at_once() -> None:
    placement = inline()
    _judge_inline(placement, CHEAP, WAIT_BUDGET * 2)
    assert not placement.inline and placement.probation == PROBATION


def test_alternating_cheap_and_costly_runs_cannot_keep_a_document_on_the_loop() -> None:
    placement = inline()
    runs = 0
    while placement.inline and runs < 100:
        _judge_inline(placement, COSTLY, CHEAP)
        _judge_inline(placement, COSTLY, CHEAP)
        _judge_inline(placement, CHEAP, CHEAP)
        runs += 3
    assert not placement.inline and runs <= 3 * STRIKES


def test_cheap_runs_keep_a_document_on_the_loop() -> None:
    placement = inline()
    for _ in range(50):
        _judge_inline(placement, CHEAP, CHEAP)
    _judge_inline(placement, COSTLY, CHEAP)
    assert placement.inline
