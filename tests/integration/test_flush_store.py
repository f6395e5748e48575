"""The flush transaction on both engines: one commit per flush id, and pruning."""

from __future__ import annotations

import threading
import uuid
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.flushes import flush_applied
from tests.support.rollup_writes import monthly, new_org


def deltas(org: int, calls: int) -> RollupDeltas:
    batch = RollupDeltas()
    batch.add_api_calls((org, date(2026, 11, 21), "GetCards", "bot"), calls)
    return batch


def test_a_flush_id_is_applied_once_however_often_it_is_retried(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    flush_id = str(uuid.uuid4())
    assert store.apply(flush_id, deltas(org, 3), applied_at_ms=1_000).applied
    # The retry of an attempt whose COMMIT outcome the caller never learned.
    assert not store.apply(flush_id, deltas(org, 3), applied_at_ms=2_000).applied
    assert flush_applied(database, flush_id)
    assert store.apply(str(uuid.uuid4()), deltas(org, 2), applied_at_ms=3_000).applied
    assert monthly(database, org, ApiDimension.TOTAL) == {"": 5}
    database.dispose()


def test_concurrent_attempts_with_one_id_commit_once(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    flush_id = str(uuid.uuid4())
    results: list[bool] = []
    barrier = threading.Barrier(4)

    def attempt() -> None:
        barrier.wait()
        results.append(store.apply(flush_id, deltas(org, 7), applied_at_ms=1_000).applied)

    threads = [threading.Thread(target=attempt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == [False, False, False, True]
    assert monthly(database, org, ApiDimension.TOTAL) == {"": 7}
    database.dispose()


class _Unreachable(RollupWriter):
    """Writes its rows, then loses the database (not a refusal of any one key)."""

    def apply(self, conn: Connection, deltas: RollupDeltas) -> None:
        super().apply(conn, deltas)
        raise OperationalError("UPDATE ...", {}, ConnectionError("server closed the connection"))


def test_a_failed_transaction_leaves_neither_the_id_nor_the_deltas(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    broken = FlushStore(database, _Unreachable(database.dialect, operation_name_cap=10))
    flush_id = str(uuid.uuid4())
    with pytest.raises(OperationalError):  # the flusher keeps the batch and retries it
        broken.apply(flush_id, deltas(org, 1), applied_at_ms=1_000)
    assert not flush_applied(database, flush_id)
    assert monthly(database, org, ApiDimension.TOTAL) == {}
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    assert store.apply(flush_id, deltas(org, 1), applied_at_ms=1_000).applied  # the retry
    assert monthly(database, org, ApiDimension.TOTAL) == {"": 1}
    database.dispose()


def test_prune_forgets_only_old_flush_ids(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    store = FlushStore(database, RollupWriter(database.dialect, operation_name_cap=10))
    old, recent = str(uuid.uuid4()), str(uuid.uuid4())
    store.apply(old, deltas(org, 1), applied_at_ms=1_000)
    store.apply(recent, deltas(org, 1), applied_at_ms=5_000)
    assert store.prune(applied_before_ms=5_000) == 1
    assert not flush_applied(database, old) and flush_applied(database, recent)
    with database.read() as conn:
        assert conn.execute(select(func.count()).select_from(t.metering_flushes)).scalar_one() == 1
    database.dispose()
