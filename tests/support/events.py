"""Usage events for tests, and what the rollups and catalog say about them (by SQL).

The statistics queries over these rollups belong to other parts of the system; the
ingest tests check what ingestion wrote directly in the tables.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from tallyboard.storage import tables as t
from tallyboard.storage.database import Database

__all__ = [
    "RollupSnapshot",
    "ai_credit",
    "api_call",
    "iso",
    "org_document",
    "rollup_snapshot",
    "task_run",
]


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _base(kind: str, org: str, at: datetime, event_id: str | None, source: str) -> dict[str, Any]:
    return {
        "id": event_id or f"evt-{uuid.uuid4().hex}",
        "source": source,
        "type": kind,
        "time": iso(at),
        "organization": org,
    }


def api_call(
    org: str,
    at: datetime,
    *,
    operation: str | None = "GetCards",
    label: str = "gateway-bot",
    status: int = 200,
    count: int = 1,
    event_id: str | None = None,
    source: str = "gateway-eu-1",
) -> dict[str, Any]:
    return {
        **_base("api.call", org, at, event_id, source),
        "data": {
            "operationName": operation,
            "tokenName": label,
            "status": status,
            "count": count,
        },
    }


def task_run(
    org: str,
    at: datetime,
    *,
    flow: str = "flow-1",
    tasks: int = 3,
    flow_name: str | None = "Sync CRM",
    project: Mapping[str, Any] | None = None,
    event_id: str | None = None,
    source: str = "runner",
) -> dict[str, Any]:
    data: dict[str, Any] = {"flowId": flow, "tasks": tasks}
    if flow_name is not None:
        data["flowName"] = flow_name
    if project is not None:
        data["project"] = dict(project)
    return {**_base("integration.task", org, at, event_id, source), "data": data}


def ai_credit(
    org: str,
    at: datetime,
    *,
    credits: float | int = 2.5,
    resource: str = "ai_automation",
    agent: str | None = "agt-1",
    agent_name: str | None = "Invoice Processor",
    event_id: str | None = None,
    source: str = "ai",
) -> dict[str, Any]:
    data: dict[str, Any] = {"resource": resource, "credits": credits}
    if agent is not None:
        data["agentId"] = agent
    if agent_name is not None:
        data["agentName"] = agent_name
    return {**_base("ai.credit", org, at, event_id, source), "data": data}


def org_document(*, bound_key: bool = False, orgs: int = 1) -> tuple[dict[str, Any], list[str]]:
    """A tenancy document with fresh organizations and one ingest key (named ``key``)."""
    suffix = uuid.uuid4().hex[:8]
    organizations = [
        {"id": f"{suffix}-{i}", "uuid": str(uuid.uuid4()), "name": f"Org {i} {suffix}"}
        for i in range(orgs)
    ]
    key: dict[str, str] = {"name": f"key-{suffix}"}
    if bound_key:
        key["organization"] = organizations[0]["id"]
    document = {"organizations": organizations, "ingestKeys": [key]}
    return document, [o["uuid"] for o in organizations]


@dataclass
class RollupSnapshot:
    """Everything ingestion wrote for one organization, without its internal key."""

    api_calls: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    api_calls_monthly: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    flows: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    flows_monthly: dict[tuple[str, str], tuple[int, int, int]] = field(default_factory=dict)
    task_totals: dict[str, tuple[int, int]] = field(default_factory=dict)
    credits: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    credits_monthly: Counter[tuple[str, int, str]] = field(default_factory=Counter)
    flow_catalog: dict[str, tuple[str, str | None, str]] = field(default_factory=dict)
    project_catalog: dict[str, tuple[str, str | None, str | None]] = field(default_factory=dict)
    agent_catalog: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    raw_events: int = 0

    def total_calls(self) -> int:
        return sum(v for (_, dim, _), v in self.api_calls.items() if dim == 0)

    def total_tasks(self) -> int:
        return sum(tasks for tasks, _ in self.task_totals.values())

    def total_runs(self) -> int:
        return sum(runs for _, runs in self.task_totals.values())

    def total_micro_credits(self) -> int:
        return sum(self.credits.values())

    def without_raw_count(self) -> RollupSnapshot:
        return RollupSnapshot(**{**self.__dict__, "raw_events": 0})


def _org_pk(conn: Any, org_uuid: str) -> int:
    o = t.organizations
    return int(conn.execute(select(o.c.pk).where(o.c.uuid == org_uuid)).scalar_one())


def rollup_snapshot(database_url: str, org_uuid: str) -> RollupSnapshot:
    database = Database(database_url)
    snap = RollupSnapshot()
    try:
        with database.read() as conn:
            pk = _org_pk(conn, org_uuid)

            def rows(table: Any, *columns: str) -> Iterable[Any]:
                query = select(*(table.c[c] for c in columns)).where(table.c.org_pk == pk)
                return conn.execute(query)

            for day, dim, value, calls in rows(
                t.api_calls_daily, "day", "dimension", "value", "calls"
            ):
                snap.api_calls[(day, dim, value)] += calls
            for month, dim, value, calls in rows(
                t.api_calls_monthly, "month", "dimension", "value", "calls"
            ):
                snap.api_calls_monthly[(month, dim, value)] += calls
            for day, flow, tasks, runs, last in rows(
                t.flow_usage_daily, "day", "flow_id", "tasks", "runs", "last_run_at"
            ):
                snap.flows[(day, flow)] = (tasks, runs, last)
            for month, flow, tasks, runs, last in rows(
                t.flow_usage_monthly, "month", "flow_id", "tasks", "runs", "last_run_at"
            ):
                snap.flows_monthly[(month, flow)] = (tasks, runs, last)
            for day, tasks, runs in rows(t.task_usage_daily, "day", "tasks", "runs"):
                snap.task_totals[day] = (tasks, runs)
            for day, resource, agent, micro in rows(
                t.ai_credits_daily, "day", "resource", "agent_id", "credits"
            ):
                snap.credits[(day, resource, agent)] += micro
            for month, resource, agent, micro in rows(
                t.ai_credits_monthly, "month", "resource", "agent_id", "credits"
            ):
                snap.credits_monthly[(month, resource, agent)] += micro
            for flow, name, project, status in rows(
                t.flows, "flow_id", "name", "project_id", "status"
            ):
                snap.flow_catalog[flow] = (name, project, status)
            for project, name, icon, color in rows(
                t.projects, "project_id", "name", "icon", "color"
            ):
                snap.project_catalog[project] = (name, icon, color)
            for agent, name, deleted in rows(t.agents, "agent_id", "name", "deleted"):
                snap.agent_catalog[agent] = (name, bool(deleted))
            snap.raw_events = len(list(rows(t.events, "event_id")))
    finally:
        database.dispose()
    return snap
