from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tallyboard_client import UsageMeter
from tests.fakes import Clock, FakeTallyboard

ORG = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
OTHER_ORG = "b27d5e21-2222-4a3b-8d1b-def456abc789"
UNKNOWN_ORG = "00000000-0000-4000-8000-000000000000"

MeterFactory = Callable[..., UsageMeter]


@pytest.fixture
def tallyboard() -> FakeTallyboard:
    return FakeTallyboard(unknown=frozenset({UNKNOWN_ORG}))


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 10, 30, tzinfo=UTC))


@pytest.fixture
def make_meter(tallyboard: FakeTallyboard, clock: Clock) -> Iterator[MeterFactory]:
    """Meters on the fake Tallyboard that flush only when told (a one-hour interval)."""
    meters: list[UsageMeter] = []

    def make(**options: Any) -> UsageMeter:
        settings: dict[str, Any] = {
            "flush_interval": 3600.0,
            "clock": clock,
            "transport": tallyboard.transport(),
            "backoff": 0.001,
            "max_backoff": 0.01,
            "close_timeout": 10.0,
            **options,
        }
        meter = UsageMeter("http://tallyboard.test", "tb_ing_test", "api-eu-1", **settings)
        meters.append(meter)
        return meter

    yield make
    for meter in meters:
        meter.close()
