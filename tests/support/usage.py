"""Seed usage the way production receives it: events in the spec §5 wire format,
posted to ``POST /v1/events`` with an ingest key.

Black-box tests seed usage through :func:`record_events` only, so what they observe
went through the real ingestion path: validation, the live window against the app's
clock, dedupe, the rollups and the catalog.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "ai_credit",
    "api_call",
    "automation_job",
    "integration_task",
    "record_events",
]

# One instance-wide ingest key per target (Harness or LiveServer), created on first use.
_KEYS: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


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


def automation_job(
    org_uuid: str,
    at: datetime,
    automation_id: str,
    jobs: int = 1,
    *,
    automation_name: str | None = None,
    event_id: str | None = None,
) -> dict[str, Any]:
    """An ``automation.job`` event: ``jobs`` jobs of one automation (spec §9)."""
    data: dict[str, Any] = {"automationId": automation_id, "jobs": jobs}
    if automation_name is not None:
        data["automationName"] = automation_name
    return _event("automation.job", org_uuid, at, data, event_id)


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


def _ingest_key(target: Any) -> str:
    key = _KEYS.get(target)
    if key is None:
        secrets = target.apply({"ingestKeys": [{"name": f"tests-{uuid.uuid4().hex[:12]}"}]})
        key = str(secrets["ingestKeys"][0]["key"])
        _KEYS[target] = key
    return key


def record_events(target: Any, events: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """POST ``events`` to ``target``'s ``/v1/events`` (a Harness or LiveServer) and
    return the spec's response ``{"accepted", "duplicates", "rejected"}``."""
    response = target.http.post(
        "/v1/events",
        json=[dict(e) for e in events],
        headers={"Authorization": f"Bearer {_ingest_key(target)}"},
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result
