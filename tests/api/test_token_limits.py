"""Access tokens are limited per principal, capped per service account, and pruned.

Issue 11, item 14: a freshly minted token used to escape the rate limit (buckets were
per token), and 4,008 tokens minted in 12 s stayed in the database for ever.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tallyboard.access.token_pruner import GRACE_SECONDS
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tests.support.harness import DEFAULT_NOW, Harness

WHO = "{ myUsageStatsOrganizations { id } }"


def accounts(harness: Harness, *names: str, lifetime: str = "1h") -> dict[str, dict[str, Any]]:
    org = str(uuid.uuid4().int % 10**9)
    secrets = harness.apply(
        {
            "organizations": [{"id": org, "name": "Limits"}],
            "serviceAccounts": [
                {"organization": org, "name": n, "role": "admin", "tokenLifetime": lifetime}
                for n in names
            ],
        }
    )
    return {a["name"]: a for a in secrets["serviceAccounts"]}


def mint(harness: Harness, account: dict[str, Any]) -> str:
    return harness.access_token(account["clientId"], account["clientSecret"])


def status(harness: Harness, token: str) -> int:
    return int(harness.graphql_response(token, WHO).status_code)


def test_a_new_token_of_the_same_account_shares_the_rate_limit(sqlite_url: str) -> None:
    with Harness(sqlite_url, rate_limit=0.001, rate_limit_burst=2) as harness:
        bots = accounts(harness, "bot", "other")
        first = mint(harness, bots["bot"])
        assert [status(harness, first) for _ in range(2)] == [200, 200]
        fresh = mint(harness, bots["bot"])
        refused = harness.graphql_response(fresh, WHO)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert int(refused.headers["retry-after"]) >= 1
        assert status(harness, mint(harness, bots["other"])) == 200  # another principal


def test_a_users_personal_tokens_share_one_limit(sqlite_url: str) -> None:
    with Harness(sqlite_url, rate_limit=0.001, rate_limit_burst=1) as harness:
        org = str(uuid.uuid4().int % 10**9)
        secrets = harness.apply(
            {
                "organizations": [{"id": org, "name": "Users"}],
                "users": [
                    {
                        "email": f"u-{org}@example.test",
                        "name": "U",
                        "memberships": [{"organization": org, "role": "admin"}],
                        "personalTokens": [
                            {"name": "one", "billingOrganization": org},
                            {"name": "two", "billingOrganization": org},
                        ],
                    }
                ],
            }
        )
        one, two = harness.personal_tokens(secrets).values()
        assert status(harness, one) == 200
        assert status(harness, two) == 429


@pytest.fixture
def capped(database_url: str) -> Iterator[Harness]:
    with Harness(database_url, oauth_max_live_tokens=3) as harness:
        yield harness


def live_tokens(harness: Harness) -> int:
    database = Database(harness.database_url)
    try:
        with database.read() as conn:
            query = select(func.count()).where(t.access_tokens.c.revoked_at.is_(None))
            return int(conn.execute(query.select_from(t.access_tokens)).scalar_one())
    finally:
        database.dispose()


def all_tokens(harness: Harness) -> int:
    database = Database(harness.database_url)
    try:
        with database.read() as conn:
            query = select(func.count()).select_from(t.access_tokens)
            return int(conn.execute(query).scalar_one())
    finally:
        database.dispose()


def test_minting_past_the_cap_revokes_the_oldest_token(capped: Harness) -> None:
    bots = accounts(capped, "bot", "other")
    other = mint(capped, bots["other"])
    tokens = [mint(capped, bots["bot"]) for _ in range(5)]
    assert [status(capped, token) for token in tokens] == [401, 401, 200, 200, 200]
    assert status(capped, other) == 200  # the cap is per service account
    assert live_tokens(capped) == 3 + 1


def test_dead_tokens_disappear_after_the_sweep(capped: Harness) -> None:
    bots = accounts(capped, "short", "long", lifetime="10m")
    bots.update(accounts(capped, "month", lifetime="30d"))
    expiring = [mint(capped, bots["short"]) for _ in range(2)]
    revoked = [mint(capped, bots["long"]) for _ in range(4)]  # the first is revoked (cap 3)
    keeper = mint(capped, bots["month"])
    pruner = capped.app.state.token_pruner
    assert pruner.sweep() == 0  # nothing is dead long enough yet
    assert all_tokens(capped) == 7

    capped.clock.set(DEFAULT_NOW + timedelta(minutes=10, seconds=GRACE_SECONDS))
    assert status(capped, expiring[0]) == 401
    assert pruner.sweep() == 2 + 4  # expired (10 min) and revoked, past the grace period
    assert all_tokens(capped) == 1
    assert status(capped, keeper) == 200
    assert all(status(capped, token) == 401 for token in expiring + revoked)


def test_the_sweep_deletes_in_batches(database_url: str) -> None:
    with Harness(database_url) as harness:
        bot = accounts(harness, "bot", lifetime="5m")["bot"]
        for _ in range(7):
            mint(harness, bot)
        harness.clock.set(DEFAULT_NOW + timedelta(hours=1))
        pruner = type(harness.app.state.token_pruner)(
            harness.services.database, harness.clock, batch_size=3
        )
        assert pruner.sweep() == 7
        assert all_tokens(harness) == 0
