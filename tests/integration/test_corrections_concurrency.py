"""Two processes on PostgreSQL, one ingesting and one voiding (and adjusting) at the
same time, stay exact: every figure equals the surviving ledger, and ``verify`` finds
nothing -- also when both void the same events at once (each counts once)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.support.corrections import usage_only, void
from tests.support.events import rollup_snapshot
from tests.support.nodes import Node, mixed_events, new_orgs

pytestmark = pytest.mark.postgres


@pytest.fixture
def pair(postgres_url: str) -> Iterator[tuple[Node, Node]]:
    nodes = (Node(postgres_url), Node(postgres_url))
    yield nodes
    for node in nodes:
        node.close()


def test_voiding_while_ingesting_from_two_processes_stays_exact(
    pair: tuple[Node, Node], postgres_url: str
) -> None:
    ingester, voider = pair
    org, reference = new_orgs(ingester, 2)
    events = mixed_events(org, 600, seed=15)
    doomed = events[::3]
    stored = threading.Event()
    errors: list[BaseException] = []

    def ingest() -> None:
        try:
            for start in range(0, len(events), 50):
                ingester.ingest(events[start : start + 50], backfill=True)
                if start >= 100:
                    stored.set()
        except BaseException as exc:  # reported below
            errors.append(exc)
            stored.set()

    def void_twice(node: Node) -> None:
        try:
            stored.wait(30)
            for event in doomed:
                node.services.corrections.correct([void(org, event, "concurrency")])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=ingest),
        threading.Thread(target=void_twice, args=(voider,)),
        threading.Thread(target=void_twice, args=(ingester,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    # Voids of events not yet stored were NOT_FOUND: void them again now, once stored.
    voider.services.corrections.correct([void(org, e, "concurrency") for e in doomed])

    doomed_ids = {e["id"] for e in doomed}
    surviving = [{**e, "organization": reference} for e in events if e["id"] not in doomed_ids]
    result = ingester.ingest(surviving, backfill=True)
    assert result.accepted == len(surviving)
    ours = usage_only(rollup_snapshot(postgres_url, org))
    assert ours == usage_only(rollup_snapshot(postgres_url, reference))
    check = voider.services.verifier
    assert check.verify(check.targets(None, None)).as_json()["differences"] == []
