"""Seed usage the way production receives it: events in the spec §5 wire format.

Every black-box test seeds usage through :func:`record_events` and nothing else, with
valid spec-format events (``id``, ``source``, ``type``, ``time``, ``organization``,
``data``), so that the body of this one function is the only thing that changes when
the ingest endpoint lands.

INTERIM: ``POST /v1/events`` is being built on another branch. Until it is merged this
function validates the events the way the endpoint will (shape, live window,
organization) and folds them straight into the target's database through the real
``RollupWriter`` (plus the catalog names events carry). At merge time its body becomes
a POST of ``events`` to ``/v1/events`` with an ingest key, returning the response.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.domain.credits import parse_credits
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, AiResource, EventType, is_billable_status
from tallyboard.storage import tables as t
from tallyboard.storage import tenancy_store
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = [
    "ai_credit",
    "api_call",
    "integration_task",
    "record_events",
]

# Events already recorded per target, for the exactly-once rule (same key = duplicate).
_SEEN: weakref.WeakKeyDictionary[Any, set[tuple[str, str, str]]] = weakref.WeakKeyDictionary()


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event(
    kind: str, org_uuid: str, at: datetime, data: dict[str, Any], event_id: str | None
) -> dict[str, Any]:
    return {
        "id": event_id or f"evt-{uuid.uuid4().hex}",
        "source": "tests",
        "type": kind,
        "time": _time(at),
        "organization": org_uuid,
        "data": data,
    }


def integration_task(
    org_uuid: str,
    at: datetime,
    flow_id: str,
    tasks: int,
    *,
    flow_name: str | None = None,
    project: Mapping[str, Any] | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``integration.task`` event (one run of ``flow_id`` that consumed ``tasks``)."""
    data: dict[str, Any] = {"flowId": flow_id, "tasks": tasks}
    if flow_name is not None:
        data["flowName"] = flow_name
    if project is not None:
        data["project"] = dict(project)
    return _event("integration.task", org_uuid, at, data, event_id)


def ai_credit(
    org_uuid: str,
    at: datetime,
    credits: float | int,
    *,
    agent_id: str | None = None,
    agent_name: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``ai.credit`` event: an agent's when ``agent_id`` is given, else an assistant's."""
    data: dict[str, Any] = {"credits": credits}
    if agent_id is None:
        data["resource"] = "assistant"
    else:
        data["resource"] = "ai_automation"
        data["agentId"] = agent_id
        if agent_name is not None:
            data["agentName"] = agent_name
    return _event("ai.credit", org_uuid, at, data, event_id)


def api_call(
    org_uuid: str,
    at: datetime,
    *,
    operation_name: str | None = None,
    caller: str = "gateway",
    status: int = 200,
    count: int = 1,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``api.call`` event; ``caller`` is its ``tokenName``."""
    data = {
        "operationName": operation_name,
        "tokenName": caller,
        "status": status,
        "count": count,
    }
    return _event("api.call", org_uuid, at, data, event_id)


# ------------------------------------------------------------------ the seam


def record_events(target: Any, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Ingest ``events`` into ``target`` (a Harness or LiveServer); returns the spec's
    ingest response ``{"accepted", "duplicates", "rejected"}``.

    INTERIM body (see the module docstring): validated here, then folded into the
    target's database with the real rollup writer.
    """
    events = list(events)
    services = target.services
    database = services.database
    now = target.clock.now()
    settings = target.settings
    oldest = now - timedelta(days=settings.live_window_days)
    newest = now + timedelta(seconds=settings.future_skew_seconds)
    seen = _SEEN.setdefault(target, set())

    with database.read() as conn:
        orgs = tenancy_store.orgs_by_uuid(conn, {str(e.get("organization")) for e in events})

    deltas = RollupDeltas()
    names: list[tuple[str, int, int, Mapping[str, Any]]] = []
    result: dict[str, Any] = {"accepted": 0, "duplicates": 0, "rejected": []}
    for index, event in enumerate(events):
        try:
            org, at, kind, data = _validate(event, orgs, oldest, newest)
        except _Rejected as rejection:
            result["rejected"].append(
                {
                    "index": index,
                    "id": event.get("id"),
                    "code": rejection.code,
                    "message": rejection.message,
                }
            )
            continue
        key = (org.uuid, str(event["source"]), str(event["id"]))
        if key in seen:
            result["duplicates"] += 1
            continue
        seen.add(key)
        result["accepted"] += 1
        day, epoch = at.date(), int(at.timestamp())
        if kind is EventType.API_CALL:
            if is_billable_status(int(data.get("status", 200))):
                operation = data.get("operationName") or NOT_SPECIFIED
                deltas.add_api_calls(
                    (org.pk, day, operation, str(data["tokenName"])), int(data.get("count", 1))
                )
        elif kind is EventType.INTEGRATION_TASK:
            deltas.add_flow_run((org.pk, day, str(data["flowId"])), int(data["tasks"]), epoch)
            names.append(("flow", org.pk, int(at.timestamp() * 1000), data))
        else:
            resource = (
                AiResource.AI_AUTOMATION
                if data["resource"] == "ai_automation"
                else AiResource.ASSISTANT
            )
            agent = str(data["agentId"]) if resource is AiResource.AI_AUTOMATION else ""
            deltas.add_credits((org.pk, day, resource, agent), parse_credits(data["credits"]))
            if agent:
                names.append(("agent", org.pk, int(at.timestamp() * 1000), data))

    writer = RollupWriter(database.dialect, settings.operation_name_cap)
    with database.write() as conn:
        writer.apply(conn, deltas)
        for what, org_pk, at_ms, data in names:
            if what == "flow":
                _catalog_flow(conn, org_pk, at_ms, data)
            else:
                _catalog_agent(conn, org_pk, at_ms, data)
    return result


class _Rejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _validate(
    event: Mapping[str, Any],
    orgs: Mapping[str, Any],
    oldest: datetime,
    newest: datetime,
) -> tuple[Any, datetime, EventType, Mapping[str, Any]]:
    for field in ("id", "source", "type", "time", "organization", "data"):
        if field not in event:
            raise _Rejected("INVALID_EVENT", f"{field} is missing")
    if not isinstance(event["id"], str) or not 1 <= len(event["id"]) <= 128:
        raise _Rejected("INVALID_EVENT", "id must be 1-128 characters")
    try:
        kind = EventType(event["type"])
        at = datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except ValueError as exc:
        raise _Rejected("INVALID_EVENT", str(exc)) from None
    if at.tzinfo is None:
        raise _Rejected("INVALID_EVENT", "time must carry a timezone")
    if not oldest <= at <= newest:
        raise _Rejected("OUT_OF_WINDOW", "time is outside the live window")
    org = orgs.get(str(event["organization"]))
    if org is None:
        raise _Rejected("UNKNOWN_ORGANIZATION", "unknown organization")
    data = event["data"]
    if not isinstance(data, Mapping):
        raise _Rejected("INVALID_EVENT", "data must be an object")
    if kind is EventType.INTEGRATION_TASK:
        if not isinstance(data.get("flowId"), str) or not data["flowId"]:
            raise _Rejected("INVALID_EVENT", "data.flowId is required")
        if not isinstance(data.get("tasks"), int) or data["tasks"] < 0:
            raise _Rejected("INVALID_EVENT", "data.tasks must be an integer >= 0")
    elif kind is EventType.AI_CREDIT:
        if data.get("resource") not in ("ai_automation", "assistant"):
            raise _Rejected("INVALID_EVENT", "data.resource must be ai_automation or assistant")
        if data["resource"] == "ai_automation" and not data.get("agentId"):
            raise _Rejected("INVALID_EVENT", "data.agentId is required for ai_automation")
        try:
            parse_credits(data.get("credits"))
        except ValueError as exc:
            raise _Rejected("INVALID_EVENT", f"data.credits {exc}") from None
    elif not isinstance(data.get("tokenName"), str):
        raise _Rejected("INVALID_EVENT", "data.tokenName is required")
    return org, at.astimezone(UTC), kind, data


def _upsert_named(
    conn: Connection,
    table: Any,
    key_column: str,
    org_pk: int,
    key: str,
    at_ms: int,
    values: dict[str, Any],
) -> None:
    """Insert the catalog row, or update it unless a newer fact already named it."""
    row = conn.execute(
        select(table.c.name_at).where(and_(table.c.org_pk == org_pk, table.c[key_column] == key))
    ).first()
    if row is None:
        conn.execute(
            insert(table).values(org_pk=org_pk, **{key_column: key}, name_at=at_ms, **values)
        )
    elif row.name_at <= at_ms:
        conn.execute(
            update(table)
            .where(and_(table.c.org_pk == org_pk, table.c[key_column] == key))
            .values(name_at=at_ms, **values)
        )


def _catalog_flow(conn: Connection, org_pk: int, at_ms: int, data: Mapping[str, Any]) -> None:
    project = data.get("project")
    if isinstance(project, Mapping) and project.get("id"):
        values = {"name": project.get("name") or project["id"]}
        values.update({k: project[k] for k in ("icon", "color") if k in project})
        _upsert_named(conn, t.projects, "project_id", org_pk, str(project["id"]), at_ms, values)
    flow_values: dict[str, Any] = {}
    if data.get("flowName"):
        flow_values["name"] = data["flowName"]
    if isinstance(project, Mapping) and project.get("id"):
        flow_values["project_id"] = str(project["id"])
    if flow_values:
        exists = conn.execute(
            select(t.flows.c.flow_id).where(
                and_(t.flows.c.org_pk == org_pk, t.flows.c.flow_id == data["flowId"])
            )
        ).first()
        if exists is None and "name" not in flow_values:
            flow_values["name"] = data["flowId"]
        _upsert_named(conn, t.flows, "flow_id", org_pk, str(data["flowId"]), at_ms, flow_values)


def _catalog_agent(conn: Connection, org_pk: int, at_ms: int, data: Mapping[str, Any]) -> None:
    if data.get("agentName"):
        values = {"name": data["agentName"]}
        _upsert_named(conn, t.agents, "agent_id", org_pk, str(data["agentId"]), at_ms, values)
