"""The automation-jobs export reads each chunk of job events through one range of the
partial index ``ix_events_automation_jobs``, with no sort, on both engines (without it
SQLite sorted all the organization's events for every chunk: quadratic in the rows)."""

from __future__ import annotations

from sqlalchemy import text

from tallyboard.storage.database import Database
from tallyboard.storage.export_sources import job_events_chunk


def _plan(database: Database, after: tuple[int, str, str] | None) -> str:
    query = job_events_chunk(7, 1_000, 9_000_000_000_000, after)
    compiled = query.compile(
        dialect=database.engine.dialect, compile_kwargs={"literal_binds": True}
    )
    with database.read() as conn:
        if database.is_sqlite:
            rows = conn.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        # Tiny tables: make the planner show whether the index can serve the order.
        for setting in ("enable_seqscan", "enable_sort", "enable_incremental_sort"):
            conn.execute(text(f"SET LOCAL {setting} = off"))
        return "\n".join(str(row[0]) for row in conn.execute(text(f"EXPLAIN {compiled}")))


def test_every_chunk_is_one_index_range_without_a_sort(database_url: str) -> None:
    database = Database(database_url)
    try:
        for after in (None, (5_000, "bench", "j00000042")):
            plan = _plan(database, after)
            assert "ix_events_automation_jobs" in plan, plan
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
    finally:
        database.dispose()
