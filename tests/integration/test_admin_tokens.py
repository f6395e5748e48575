"""The admin token service the CLI uses: mint, list (with each state), revoke."""

from __future__ import annotations

from datetime import timedelta

from tallyboard.access.admin_tokens import AdminTokens, AdminTokenState
from tallyboard.access.authenticator import Authenticator
from tallyboard.domain.clock import FixedClock
from tallyboard.storage.database import Database
from tests.support.harness import DEFAULT_NOW


def test_minted_tokens_are_listed_with_their_state_and_revoked_once(database_url: str) -> None:
    clock = FixedClock(DEFAULT_NOW)
    database = Database(database_url)
    try:
        tokens = AdminTokens(database, clock)
        forever = tokens.mint("ops")
        brief = tokens.mint("ci", lifetime_seconds=60)
        assert forever.startswith("tb_adm_") and forever != brief
        Authenticator(database, clock).admin(f"Bearer {forever}")  # it works at once
        listed = {view.label: view for view in tokens.tokens() if view.label in {"ops", "ci"}}
        assert listed["ops"].state is AdminTokenState.ACTIVE and listed["ops"].since is None
        assert listed["ci"].state is AdminTokenState.ACTIVE
        assert listed["ci"].since == DEFAULT_NOW.replace(microsecond=0) + timedelta(seconds=60)
        assert listed["ops"].created_at == DEFAULT_NOW.replace(microsecond=0)

        clock.set(DEFAULT_NOW + timedelta(seconds=61))
        assert tokens.revoke(listed["ops"].pk)
        assert not tokens.revoke(listed["ops"].pk)
        after = {view.label: view for view in tokens.tokens()}
        assert after["ops"].state is AdminTokenState.REVOKED
        assert after["ci"].state is AdminTokenState.EXPIRED
        assert after["ci"].since == listed["ci"].since
        assert not tokens.revoke(10_000)
    finally:
        database.dispose()
