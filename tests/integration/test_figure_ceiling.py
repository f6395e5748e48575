"""The ceiling of every stored figure, kept by the database itself, on both engines
(decision 0012; the fuzz's overflow, issue 11 follow-up).

Every write adds to the organization's monthly totals first; their CHECK constraints
refuse a write past ``FIGURE_CEILING`` as a whole, whichever writer came first, and the
metering flush sets the key that caused it aside like any key the database refuses.
"""

from __future__ import annotations

import logging
import uuid
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tallyboard.admin.applier import Applier
from tallyboard.admin.document import parse_document
from tallyboard.domain.clock import FixedClock
from tallyboard.domain.rollup import FIGURE_CEILING, FIGURES, FigureCeilingExceeded, RollupDeltas
from tallyboard.domain.usage import AiResource, ApiDimension
from tallyboard.ingest.service import IngestService
from tallyboard.observability.metrics import Metrics
from tallyboard.settings import Settings
from tallyboard.storage import tables as t
from tallyboard.storage import usage_totals
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.flush_store import FlushStore
from tallyboard.storage.rollup_writer import RollupWriter
from tests.support.events import ai_credit, api_call, org_document, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW as NOW
from tests.support.rollup_writes import monthly, new_org

DAY = date(2026, 11, 21)
NEXT_MONTH = date(2026, 12, 1)
C = FIGURE_CEILING


def totals(database: Database, org: int) -> dict[str, tuple[int, ...]]:
    table = t.usage_totals_monthly
    with database.read() as conn:
        rows = conn.execute(
            select(table.c.month, *(table.c[figure] for figure in FIGURES))
            .where(table.c.org_pk == org)
            .order_by(table.c.month)
        )
        return {month: tuple(figures) for month, *figures in rows}


def calls(org: int, n: int, day: date = DAY, operation: str = "GetCards") -> RollupDeltas:
    deltas = RollupDeltas()
    deltas.add_api_calls((org, day, operation, "bot"), n)
    return deltas


def credits(org: int, micro: int, agent: str = "agt-1") -> RollupDeltas:
    deltas = RollupDeltas()
    deltas.add_credits((org, DAY, AiResource.AI_AUTOMATION, agent), micro)
    return deltas


def runs(org: int, tasks: int, flow: str = "flow-1") -> RollupDeltas:
    deltas = RollupDeltas()
    deltas.add_flow_run((org, DAY, flow), tasks, 1_000)
    return deltas


def test_every_write_adds_to_the_organizations_monthly_totals(database_url: str) -> None:
    database = Database(database_url)
    org, other = new_org(database), new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    deltas = calls(org, 7)
    deltas.merge(calls(org, 2, NEXT_MONTH, "ListFlows"))
    deltas.merge(runs(org, 5))
    deltas.merge(runs(org, 0, "flow-2"))
    deltas.merge(credits(org, 2_500_000))
    deltas.merge(credits(other, 1))
    deltas.add_jobs((org, DAY, "auto-1"), 4, 1_000)
    with database.write() as conn:
        writer.apply(conn, deltas)
        writer.apply(conn, calls(org, 1))
    assert totals(database, org) == {"2026-11": (8, 5, 2, 2_500_000, 4), "2026-12": (2, 0, 0, 0, 0)}
    assert totals(database, other) == {"2026-11": (0, 0, 0, 1, 0)}
    database.dispose()


@pytest.mark.parametrize(
    ("figure", "delta"),
    [
        ("calls", lambda org, n: calls(org, n)),
        ("tasks", lambda org, n: runs(org, n)),
        ("credits", lambda org, n: credits(org, n)),
    ],
)
def test_a_write_past_the_ceiling_fails_as_a_whole_and_up_to_it_succeeds(
    database_url: str, figure: str, delta: object
) -> None:
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    make = delta  # (org, amount) -> RollupDeltas
    assert callable(make)
    with database.write() as conn:
        writer.apply(conn, make(org, C - 1))
    before = totals(database, org)
    # One more than fits: refused by the database's CHECK, nothing of the write stays.
    with (
        pytest.raises(IntegrityError, match=f"{figure}_ceiling") as refused,
        database.write() as conn,
    ):
        writer.apply(conn, make(org, 2))
    assert database.dialect.refuses_content(refused.value)
    assert database.dialect.passes_ceiling(refused.value)
    assert totals(database, org) == before
    # Exactly up to the ceiling is fine, and stays exact.
    with database.write() as conn:
        writer.apply(conn, make(org, 1))
    index = ("calls", "tasks", "runs", "credits").index(figure)
    assert totals(database, org)["2026-11"][index] == C
    if figure == "calls":
        assert monthly(database, org, ApiDimension.TOTAL) == {"": C}
        assert monthly(database, org, ApiDimension.OPERATION_NAME) == {"GetCards": C}
    database.dispose()


def test_a_delta_past_the_ceiling_on_its_own_is_refused_before_any_statement(
    database_url: str,
) -> None:
    """12 x 10^12 credits (the fuzz's batch, 1.2 x 10^19 micro-credits) would not even
    bind on SQLite, and would be "bigint out of range" on PostgreSQL."""
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    with pytest.raises(FigureCeilingExceeded) as refused, database.write() as conn:
        writer.apply(conn, credits(org, 12 * 10**18))
    assert database.dialect.refuses_content(refused.value)
    assert database.dialect.passes_ceiling(refused.value)
    assert totals(database, org) == {}
    database.dispose()


def test_the_ceiling_bounds_an_organizations_month_across_agents_and_flows(
    database_url: str,
) -> None:
    """Rows of different agents (or flows) sum into one answer: it is their month's
    total that the ceiling bounds, not each row."""
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    with database.write() as conn:
        writer.apply(conn, credits(org, C // 2, "agt-1"))
        writer.apply(conn, credits(org, C - C // 2, "agt-2"))
    with (
        pytest.raises(IntegrityError, match="credits_ceiling") as refused,
        database.write() as conn,
    ):
        writer.apply(conn, credits(org, 1, "agt-3"))
    assert database.dialect.passes_ceiling(refused.value)
    # Another month, and another organization, are unaffected.
    other = new_org(database)
    deltas = credits(other, C)
    deltas.add_credits((org, NEXT_MONTH, AiResource.ASSISTANT, ""), 5)
    with database.write() as conn:
        writer.apply(conn, deltas)
    assert totals(database, org) == {"2026-11": (0, 0, 0, C, 0), "2026-12": (0, 0, 0, 5, 0)}
    assert totals(database, other) == {"2026-11": (0, 0, 0, C, 0)}
    database.dispose()


def test_lock_and_read_creates_the_totals_it_is_asked_for(database_url: str) -> None:
    database = Database(database_url)
    org = new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    with database.write() as conn:
        writer.apply(conn, calls(org, 3))
    with database.write() as conn:
        found = usage_totals.lock_and_read(
            conn, database.dialect, [(org, "2026-11"), (org, "2026-12")]
        )
    assert found == {(org, "2026-11"): (3, 0, 0, 0, 0), (org, "2026-12"): (0, 0, 0, 0, 0)}
    database.dispose()


def test_the_metering_flush_sets_aside_a_key_that_would_pass_the_ceiling(
    database_url: str,
) -> None:
    """API-call counts grow by one per call, so this is a last line of defence: the
    refused key is isolated like any other, and every other key commits once."""
    database = Database(database_url)
    org, other = new_org(database), new_org(database)
    writer = RollupWriter(database.dialect, operation_name_cap=10)
    with database.write() as conn:
        writer.apply(conn, calls(org, C - 3))
    store = FlushStore(database, writer)
    batch = calls(org, 5, DAY, "ListFlows")
    batch.merge(calls(org, 2, NEXT_MONTH))
    batch.merge(calls(other, 4))
    flush_id = str(uuid.uuid4())
    result = store.apply(flush_id, batch, applied_at_ms=1_000)
    assert result.applied
    ((refused, reason),) = [(r.deltas.api_calls, r.reason) for r in result.refused]
    assert refused == {(org, DAY, "ListFlows", "bot"): 5} and reason
    assert totals(database, org) == {"2026-11": (C - 3, 0, 0, 0, 0), "2026-12": (2, 0, 0, 0, 0)}
    assert totals(database, other) == {"2026-11": (4, 0, 0, 0, 0)}
    assert monthly(database, org, ApiDimension.OPERATION_NAME) == {"GetCards": C - 1}
    again = store.apply(flush_id, batch, applied_at_ms=2_000)
    assert not again.applied
    assert totals(database, other) == {"2026-11": (4, 0, 0, 0, 0)}
    database.dispose()


class _Refusing(RollupWriter):
    """Refuses, for what it holds, any write that counts flow ``poison`` -- as a database
    refuses a value it cannot store (validation keeps such values out today)."""

    def apply(self, conn: Connection, deltas: RollupDeltas) -> None:
        if any(flow == "poison" for _, _, flow in deltas.flow_runs):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        super().apply(conn, deltas)


def test_an_event_the_database_refuses_on_its_own_is_rejected_and_the_rest_stored(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Not the ceiling: the batch is written again and the refused event isolated by
    halving (``storage/isolation.py``, the flush's mechanism), logged once at WARNING."""
    database = Database(database_url)
    settings = Settings(database_url=database_url)
    service = IngestService(
        database,
        EventStore(database),
        _Refusing(database.dialect, operation_name_cap=10),
        FixedClock(NOW),
        Metrics(),
        settings,
    )
    document, (a, b) = org_document(orgs=2)
    Applier(database, FixedClock(NOW)).apply(parse_document(document))
    events = [
        api_call(a, NOW, count=2),
        task_run(a, NOW, flow="poison", event_id="bad"),
        task_run(b, NOW, tasks=4),
        ai_credit(a, NOW, credits=1.5),
    ]
    with caplog.at_level(logging.INFO, logger="tallyboard.ingest.service"):
        result = service.ingest_events(events, bound_org_pk=None)
    assert result.accepted == 3
    assert [(r.index, r.id, r.code.value, r.message) for r in result.rejected] == [
        (
            1,
            "bad",
            "INVALID_EVENT",
            "event: the database refused what it holds; the event was not stored",
        )
    ]
    snapshot = rollup_snapshot(database_url, a)
    assert (snapshot.total_calls(), snapshot.total_tasks(), snapshot.raw_events) == (2, 0, 2)
    assert snapshot.total_micro_credits() == 1_500_000 and "poison" not in snapshot.flow_catalog
    assert rollup_snapshot(database_url, b).total_tasks() == 4
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "UnicodeEncodeError" in warnings[0].__dict__["reason"]
    database.dispose()
