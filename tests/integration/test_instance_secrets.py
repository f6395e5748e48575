"""Per-instance secrets: created once, race-safely, shared by every process."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.instance_secret_store import get_or_create_secret


def test_concurrent_first_use_agrees_on_one_secret(database_url: str) -> None:
    # Separate Database objects behave like separate processes (own pools).
    databases = [Database(database_url) for _ in range(4)]
    barrier = threading.Barrier(len(databases))
    results: list[str] = []

    def first_use(index: int) -> None:
        barrier.wait(10)
        value = get_or_create_secret(databases[index], "shared", lambda: f"candidate-{index}")
        results.append(value)

    threads = [threading.Thread(target=first_use, args=(i,)) for i in range(len(databases))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == len(databases)
    assert len(set(results)) == 1 and results[0].startswith("candidate-")
    # Later uses read it back; a new candidate is never stored.
    assert get_or_create_secret(databases[0], "shared", lambda: "late") == results[0]
    with databases[0].read() as conn:
        rows = conn.execute(select(func.count()).select_from(t.instance_secrets)).scalar_one()
    assert rows == 1
    for database in databases:
        database.dispose()
