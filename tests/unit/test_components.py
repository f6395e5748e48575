"""The composition root builds every service without touching a server, and each
service is wired once and shared (the CLI, the demo and the HTTP app rely on it)."""

from __future__ import annotations

from datetime import UTC, datetime

from tallyboard.components import Components, build_components
from tallyboard.domain.clock import FixedClock, SystemClock
from tallyboard.settings import Settings

# Nothing listens on port 9: building must not connect to either.
UNREACHABLE = Settings(
    database_url="postgresql://nobody@127.0.0.1:9/nowhere", redis_url="redis://127.0.0.1:9/0"
)


def test_building_connects_to_nothing() -> None:
    components = build_components(UNREACHABLE)
    try:
        assert isinstance(components, Components)
        assert isinstance(components.clock, SystemClock)
        assert components.database.dialect.name == "postgresql"
    finally:
        components.close()


def test_services_share_one_wiring() -> None:
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    components = build_components(Settings(database_url="sqlite:///unused.db"), clock=clock)
    try:
        assert components.clock is clock
        assert components.queries.clock is clock
        assert components.queries.policy is components.policy
        assert components.max_org_uuids == Settings().max_org_uuids
    finally:
        components.close()
