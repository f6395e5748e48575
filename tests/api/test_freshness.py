"""Freshness: a billable request shows in the statistics within the flush interval
(plus the time one flush takes), with no explicit flush (docs/decisions/0005)."""

from __future__ import annotations

import time
import uuid

from tests.support.harness import LiveServer

FLUSH_INTERVAL = 0.25
# The bound is the interval plus one flush (milliseconds); the slack absorbs a busy
# machine's scheduling, not a missing flush: without the periodic flush the count
# never appears at all.
SLACK = 2.0

COUNTER = (
    "query Count($org: ID!) "
    "{ apiUsageStats(organizationUuid: $org, period: current_month) { data { metric } } }"
)


def test_requests_appear_in_the_statistics_within_the_flush_interval(database_url: str) -> None:
    server = LiveServer(database_url, flush_interval=FLUSH_INTERVAL)
    org, other = (str(uuid.uuid4().int % 10**9) for _ in range(2))
    with server.running():
        secrets = server.apply(
            {
                "organizations": [{"id": org, "name": "Fresh"}, {"id": other, "name": "Other"}],
                "users": [
                    {
                        "email": f"{org}@example.test",
                        "name": "Watcher",
                        "memberships": [
                            {"organization": org, "role": "admin"},
                            {"organization": other, "role": "member"},
                        ],
                        # Billed to the other organization: watching does not count here.
                        "personalTokens": [{"name": "w", "billingOrganization": other}],
                    }
                ],
                "serviceAccounts": [
                    {"organization": org, "name": "bot", "role": "admin", "tokenLifetime": "1h"}
                ],
            }
        )
        bot = server.service_account_tokens(secrets)["bot"]
        (watcher,) = server.personal_tokens(secrets).values()
        org_uuid = server.graphql(watcher, "{ myUsageStatsOrganizations { uuid } }")["data"][
            "myUsageStatsOrganizations"
        ][0]["uuid"]

        def counted() -> int:
            answer = server.graphql(watcher, COUNTER, {"org": org_uuid})
            metric: int = answer["data"]["apiUsageStats"]["data"][0]["metric"]
            return metric

        seen = counted()
        for _ in range(3):  # three rounds: each must meet the bound on its own
            for _ in range(3):
                assert server.graphql(bot, "query Work { __typename }") == {
                    "data": {"__typename": "Query"}
                }
            answered = time.monotonic()
            deadline = answered + FLUSH_INTERVAL + SLACK
            while counted() != seen + 3:
                assert time.monotonic() < deadline, "the calls did not appear in time"
                time.sleep(FLUSH_INTERVAL / 10)
            seen += 3
