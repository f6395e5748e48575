"""Stored events (their canonical payloads) read back as the :class:`Event` they were.

Voids read one event back; ``verify`` reads every event of an organization-month and
folds them with the write paths' own ``usage_deltas``. For the fold only the
organization, the time and the usage matter, so :func:`ledger_events` skips what only
a void needs (the payload's hash) and looks the type up in a dict: ``verify`` decodes
millions of payloads, each costing a few microseconds more otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from tallyboard.domain.events import ApiCall, CreditUse, Event, JobRun, Project, TaskRun, Usage
from tallyboard.domain.usage import NOT_SPECIFIED, AiResource, EventType

__all__ = ["ledger_events", "usage_from_stored"]

_TYPES = {event_type.value: event_type for event_type in EventType}


def usage_from_stored(event_type: EventType, data: dict[str, Any]) -> Usage:
    """The usage of a stored payload's ``data`` (the canonical form, section 5)."""
    if event_type is EventType.API_CALL:
        return ApiCall(
            data["operationName"] or NOT_SPECIFIED, data["tokenName"], data["status"], data["count"]
        )
    if event_type is EventType.INTEGRATION_TASK:
        project = data.get("project")
        return TaskRun(
            data["flowId"],
            data.get("flowName"),
            None if project is None else Project(**project),
            data["tasks"],
        )
    if event_type is EventType.AUTOMATION_JOB:
        return JobRun(data["automationId"], data.get("automationName"), data["jobs"])
    resource = (
        AiResource.AI_AUTOMATION if data["resource"] == "ai_automation" else AiResource.ASSISTANT
    )
    return CreditUse(resource, data.get("agentId"), data.get("agentName"), data["microCredits"])


def ledger_events(org_pk: int, payloads: Iterable[bytes]) -> list[Event]:
    """The organization's stored payloads as events to fold (no id, no hash)."""
    events = []
    for payload in payloads:
        stored = orjson.loads(payload)
        event_type = _TYPES[stored["type"]]
        usage = usage_from_stored(event_type, stored["data"])
        events.append(Event(0, "", "", "", event_type, stored["time"], usage, payload, b"", org_pk))
    return events
