"""Two server instances share the per-organization cache through Redis.

Both serve the same database and Redis with the same key prefix (unique to the test);
the second answers a combined query from the entries the first one wrote, which its
own ``/metrics`` shows: cache hits, and no organization computed from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cache_world import COMBINED, SINGLE, seed, tenancy
from tests.support.harness import DEFAULT_NOW, LiveServer
from tests.support.usage import ai_credit, record_events

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def metric(server: LiveServer, name: str, labels: dict[str, str]) -> float:
    text = server.http.get("/metrics").text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


@pytest.fixture
def prefix(redis_url: str) -> Iterator[str]:
    value = f"tbtest-{uuid.uuid4().hex[:12]}"
    yield value
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{value}:*"):
        client.delete(key)
    client.close()


def test_the_second_server_answers_from_the_first_ones_entries(
    database_url: str, redis_url: str, prefix: str
) -> None:
    settings: dict[str, Any] = {"redis_url": redis_url, "cache_prefix": prefix}
    first, second = LiveServer(database_url, **settings), LiveServer(database_url, **settings)
    with first.running(), second.running():
        t = tenancy()
        secrets = first.apply(t.document)
        token = first.personal_tokens(secrets)[f"{t.email}/t"]
        seed(first, t.orgs, DEFAULT_NOW)
        orgs = [t.orgs[k]["uuid"] for k in "AB"]
        variables = {"orgs": orgs, "period": "current_month"}

        answer_1 = first.graphql(token, COMBINED, variables)
        # Usage that arrives afterwards is not in the shared entries (by design, for
        # up to a minute): seeing the old figures proves where the answer came from.
        record_events(first, [ai_credit(orgs[0], DEFAULT_NOW, 10, agent_id="agt-a")])
        answer_2 = second.graphql(token, COMBINED, variables)

        assert "errors" not in answer_1 and answer_2 == answer_1
        stats = "tallyboard_stats_queries_total"
        query = {"query": "aiCreditUsageStatsCombined"}
        assert metric(first, stats, query) == 2
        assert metric(second, stats, query) == 0
        hits = {"backend": "redis", "outcome": "hit"}
        assert metric(second, "tallyboard_cache_requests_total", hits) == 2
        # The uncached single-organization query on the second server is current.
        single = second.graphql(token, SINGLE, {"org": orgs[0]})
        assert single["data"]["aiCreditUsageStats"]["usage"] == 11.25
