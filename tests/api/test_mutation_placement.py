"""A mutation never runs on the event loop (decision 0014): its write would be refused
there, logged as a failure and the request run again on a worker thread."""

from __future__ import annotations

from tests.support.exports import CREATE_JOBS
from tests.support.harness import Harness
from tests.support.world import populated


def _fallbacks(harness: Harness) -> float:
    return float(harness.services.metrics.graphql_inline_fallbacks._value.get())


def test_a_repeated_export_mutation_is_never_tried_on_the_event_loop(sqlite_url: str) -> None:
    with Harness(sqlite_url) as harness:
        world = populated(harness)
        for attempt in range(4):
            body = harness.graphql(world.boss, CREATE_JOBS, {"org": world.org_id})
            assert "errors" not in body, (attempt, body)
        assert _fallbacks(harness) == 0
