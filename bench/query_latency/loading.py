"""Bulk loading of the data sets (straight into the tables, never through the service)
and the naive baseline's raw table."""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from bench.query_latency.automation_data import AUTOMATION_COLUMNS, PIPE_COLUMNS
from bench.query_latency.dataset import OrgData, naive_rows
from bench.server import Database

_ENTRY_FIELDS = (
    "action", "event", "status", "action_pipe", "event_pipe", "tags", "created_by",
    "created_at", "updated_at",
)  # fmt: skip
"""The §9 catalog fields of agents (``automation_data.agent_fields``)."""
_COLUMNS = {
    "api_calls_daily": ("day", "dimension", "value", "calls"),
    "api_calls_monthly": ("month", "dimension", "value", "calls"),
    "projects": ("project_id", "name", "icon", "color", "name_at"),
    "flows": ("flow_id", "name", "project_id", "status", "name_at"),
    "flow_usage_daily": ("day", "flow_id", "tasks", "runs", "last_run_at"),
    "flow_usage_monthly": ("month", "flow_id", "tasks", "runs", "last_run_at"),
    "task_usage_daily": ("day", "tasks", "runs"),
    "agents": ("agent_id", "name", "deleted", "name_at", *_ENTRY_FIELDS),
    "ai_credits_daily": ("day", "resource", "agent_id", "credits"),
    "ai_credits_monthly": ("month", "resource", "agent_id", "credits"),
    "pipes": PIPE_COLUMNS,
    "automations": AUTOMATION_COLUMNS,
    "automation_jobs_daily": ("day", "automation_id", "jobs", "last_job_at"),
    "automation_jobs_monthly": ("month", "automation_id", "jobs", "last_job_at"),
}
NAIVE_TABLE = "bench_naive_api_calls"


class Loader:
    """Bulk writes straight into the bench database (never through the service)."""

    def __init__(self, db: Database) -> None:
        self.engine = db.engine
        if db.engine == "sqlite":
            self._sqlite = sqlite3.connect(db.url.removeprefix("sqlite:///"))
            self._sqlite.execute("PRAGMA synchronous=OFF")
        else:
            import psycopg

            self._pg = psycopg.connect(db.url, autocommit=False)

    def insert(self, table: str, columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
        count = 0

        def counted() -> Iterator[tuple[Any, ...]]:
            nonlocal count
            for row in rows:
                count += 1
                yield row

        names = ", ".join(columns)
        if self.engine == "sqlite":
            marks = ", ".join("?" * len(columns))
            self._sqlite.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", counted())
            self._sqlite.commit()
        else:
            with self._pg.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in counted():
                    copy.write_row(row)
            self._pg.commit()
        return count

    def execute(self, sql: str) -> None:
        if self.engine == "sqlite":
            self._sqlite.execute(sql)
            self._sqlite.commit()
        else:
            self._pg.execute(sql)
            self._pg.commit()

    def query(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        if self.engine == "sqlite":
            return list(self._sqlite.execute(sql, params).fetchall())
        rows = self._pg.execute(sql.replace("?", "%s"), params).fetchall()
        self._pg.commit()
        return list(rows)

    def close(self) -> None:
        if self.engine == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()


NAIVE_QUERY = (
    f"SELECT operation_name, COUNT(*) AS calls FROM {NAIVE_TABLE} "
    "WHERE org_pk = ? AND time_ms >= ? AND time_ms < ? "
    "GROUP BY operation_name ORDER BY calls DESC, operation_name LIMIT 10"
)


def _tenancy(orgs: list[tuple[str, str]], first_month: str) -> dict[str, Any]:
    def settings(org_id: str) -> dict[str, Any]:
        # GraphQL Int is 32-bit: the summed limits of 25 organizations over 3 months
        # must stay below 2^31, so modest organizations get modest allowances.
        api_calls = 1_000_000 if org_id.startswith("small") else 50_000_000
        return {
            "effectiveFrom": first_month,
            "allowances": {"apiCalls": api_calls, "integrationTasks": 2_000_000, "aiCredits": 900},
            "aiCreditAddon": True,
            "freeAiCredits": 200,
            "aiAutomationEnabled": True,
            "assistantsEnabled": True,
        }

    return {
        "organizations": [
            {"id": org_id, "name": name, "settings": [settings(org_id)]} for org_id, name in orgs
        ],
        "users": [
            {
                "email": "bench@bench.test",
                "name": "Bench",
                "memberships": [
                    {"organization": org_id, "role": "super_admin"} for org_id, _ in orgs
                ],
                "personalTokens": [{"name": "bench", "billingOrganization": "caller"}],
            }
        ],
    }


@dataclass
class LoadedDatabase:
    db: Database
    token: str
    uuids: dict[str, str]
    """Tier label (or "small-N") -> organization UUID."""
    pks: dict[str, int]
    rows: dict[str, int]
    seconds: dict[str, float]


def load(
    db: Database, datasets: dict[str, OrgData], days: list[date]
) -> tuple[LoadedDatabase, Loader]:
    orgs = [("caller", "Bench caller")] + [(key, f"Org {key}") for key in datasets]
    first_month = days[0].isoformat()[:7]
    started = time.perf_counter()
    report = db.apply(_tenancy(orgs, first_month))
    token = report["personalTokens"][0]["token"]
    loader = Loader(db)
    found = loader.query("SELECT id, pk, uuid FROM organizations", [])
    pks = {str(i): int(pk) for i, pk, _ in found}
    uuids = {str(i): str(u) for i, _, u in found}
    seconds = {"tenancy": time.perf_counter() - started}
    rows: dict[str, int] = defaultdict(int)
    started = time.perf_counter()
    for table, columns in _COLUMNS.items():
        batch = [
            (pks[key], *row) for key, data in datasets.items() for row in data.tables.get(table, [])
        ]
        rows[table] += loader.insert(table, ("org_pk", *columns), batch)
    seconds["rollups"] = time.perf_counter() - started
    started = time.perf_counter()
    int_type = "INTEGER" if db.engine == "sqlite" else "BIGINT"
    loader.execute(
        f"CREATE TABLE {NAIVE_TABLE} (org_pk INTEGER NOT NULL, time_ms {int_type} NOT NULL, "
        "operation_name TEXT NOT NULL, token TEXT NOT NULL)"
    )
    for key, data in datasets.items():
        if data.tier.naive:
            rows[NAIVE_TABLE] += loader.insert(
                NAIVE_TABLE,
                ("org_pk", "time_ms", "operation_name", "token"),
                naive_rows(pks[key], data, days),
            )
    loader.execute(f"CREATE INDEX ix_{NAIVE_TABLE}_org_time ON {NAIVE_TABLE} (org_pk, time_ms)")
    seconds["naive"] = time.perf_counter() - started
    if db.engine == "sqlite":
        # Fold the load's write-ahead log into the database file before serving.
        loader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    if db.engine == "postgresql":
        # What autovacuum would have done after loads this size.
        started = time.perf_counter()
        loader.execute("ANALYZE")
        seconds["analyze"] = time.perf_counter() - started
    return LoadedDatabase(db, token, uuids, pks, dict(rows), seconds), loader


# ---------------------------------------------------------------- HTTP
