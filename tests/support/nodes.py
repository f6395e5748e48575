"""In-process "nodes": each its own services, connection pool and caches on one
database, as separate server processes would be -- the concurrency tests run two side
by side -- and the organizations and mixed events they ingest."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings
from tests.support.events import ai_credit, api_call, org_document, task_run
from tests.support.harness import DEFAULT_NOW

__all__ = ["Node", "mixed_events", "new_orgs"]

NOW = DEFAULT_NOW


class Node:
    """One ingesting process: its own services, connection pool and caches."""

    def __init__(self, database_url: str) -> None:
        self.clock = FixedClock(NOW)
        settings = Settings(database_url=database_url)
        self.services: Components = build_components(settings, clock=self.clock)

    def ingest(self, events: list[Any], *, backfill: bool = False) -> Any:
        return self.services.ingest.ingest_events(events, bound_org_pk=None, backfill=backfill)

    def close(self) -> None:
        self.services.database.dispose()


def new_orgs(node: Node, count: int = 1) -> list[str]:
    document, uuids = org_document(orgs=count)
    Applier(node.services.database, node.clock).apply(parse_document(document))
    return uuids


def mixed_events(org: str, count: int, seed: int) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    events: list[dict[str, Any]] = []
    for i in range(count):
        at = NOW - timedelta(minutes=rnd.randrange(0, 3 * 24 * 60))
        kind = i % 3
        if kind == 0:
            events.append(api_call(org, at, operation=f"Op{rnd.randrange(4)}", count=1 + i % 3))
        elif kind == 1:
            events.append(
                task_run(org, at, flow=f"flow-{rnd.randrange(3)}", tasks=rnd.randrange(9))
            )
        else:
            events.append(ai_credit(org, at, agent=f"agt-{rnd.randrange(3)}", credits=0.1))
    return events
