from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.harness import Harness


@pytest.fixture
def harness(sqlite_url: str) -> Iterator[Harness]:
    with Harness(sqlite_url) as h:
        yield h


@pytest.fixture
def any_harness(database_url: str) -> Iterator[Harness]:
    """The same app on SQLite and on PostgreSQL."""
    with Harness(database_url) as h:
        yield h
