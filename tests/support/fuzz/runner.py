"""Running suites: seeds first, then a fixed number of generated examples, the same ones
in every run and every session.

Hypothesis runs derandomized (its seed comes from the test function, the same here for
every suite), without an example database and without shrinking (the recorder never
raises: it collects). One more thing would make a fixed seed generate different examples
from one session to the next: hypothesis mixes constants found in the project's
imported modules into its draws (``providers._get_local_constants``), so a whole-suite
run, which imports every test module, would send other requests than this file alone.
That pool is pinned to empty while suites run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.internal.conjecture import providers
from hypothesis.internal.constants_ast import Constants

from tests.support.fuzz.checks import Sent, Suite

__all__ = ["run_suites"]


@contextmanager
def _same_examples_in_any_session() -> Iterator[None]:
    # hypothesis is pinned exactly; should the hook move, setattr fails loudly.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(providers, "_get_local_constants", Constants)
        providers.CONSTANTS_CACHE.cache.clear()
        try:
            yield
        finally:
            providers.CONSTANTS_CACHE.cache.clear()


def run_suites(suites: list[Suite], send: Callable[[Sent], object], scale: float = 1.0) -> None:
    """``send`` every suite's seeds, then ``scale`` times its number of examples."""
    with _same_examples_in_any_session():
        for suite in suites:
            for seed in suite.seeds:
                send(seed)
            if suite.examples:
                _generate(suite, send, max(1, round(suite.examples * scale)))


def _generate(suite: Suite, send: Callable[[Sent], object], examples: int) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate),
        suppress_health_check=list(HealthCheck),
    )
    @given(suite.requests)
    def run(sent: Sent) -> None:
        send(sent)

    run()
