"""Usage events as the ingest API receives them (spec §5), validated and normalized.

A batch is validated event by event: each event either becomes a typed
:class:`Event` or one :class:`Rejection` whose message lists *every* problem of that
event, each naming its field (``data.credits: must not be negative``). Normalization
makes replays recognisable: times become epoch milliseconds, credits integer
micro-credits, defaults are filled in, and the normalized event is serialized once
into canonical JSON -- the stored payload and the input of the payload hash that tells
a duplicate (same hash) from a reused id (different hash, ``CONFLICT``).

Everything here is pure; ``now`` reaches the window check as an argument.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

import orjson

from tallyboard.domain import text as text_rules
from tallyboard.domain.credits import MICRO, parse_credits
from tallyboard.domain.event_time import TIME_SHAPE, Window, epoch_ms, format_ms, parse_time
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, AiResource, EventType, is_billable_status

__all__ = [
    "EVENT_TYPE_CODES",
    "MAX_EVENT_CREDITS",
    "ApiCall",
    "CreditUse",
    "Event",
    "EventValidator",
    "IngestResult",
    "NotJson",
    "Project",
    "Rejection",
    "RejectionCode",
    "TaskRun",
    "Window",
    "epoch_ms",
    "format_ms",
    "usage_deltas",
]

MAX_ID_LENGTH = text_rules.MAX_ID_LENGTH
"""Event ids, sources and catalog ids (flow, project, agent) fit the key columns."""

MAX_TEXT_LENGTH = text_rules.MAX_NAME_LENGTH
"""Names, operation names and token names: generous, but bounded."""

MAX_QUANTITY = 10**9
"""Upper bound of ``count`` and ``tasks`` in one event: catches unit mistakes early."""

MAX_EVENT_CREDITS = 10**6
"""Upper bound of ``credits`` in one event. An ``ai.credit`` event is one use of an agent
or an assistant, priced in credits that a month's allowance counts in thousands; a
million is already 1% of what one organization's month may hold in all
(``FIGURE_CEILING``, domain/rollup.py), and 10,000 such events (the most one batch
carries) still fit a 64-bit integer as micro-credits."""

_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


class RejectionCode(StrEnum):
    INVALID_EVENT = "INVALID_EVENT"
    UNKNOWN_ORGANIZATION = "UNKNOWN_ORGANIZATION"
    FORBIDDEN_ORGANIZATION = "FORBIDDEN_ORGANIZATION"
    OUT_OF_WINDOW = "OUT_OF_WINDOW"
    CONFLICT = "CONFLICT"


EVENT_TYPE_CODES: dict[EventType, int] = {
    EventType.API_CALL: 1,
    EventType.INTEGRATION_TASK: 2,
    EventType.AI_CREDIT: 3,
}
"""How an event's type is stored (``events.type``, a small integer)."""

_TYPE_LIST = ", ".join(t.value for t in EventType)
_AI_AUTOMATION = AiResource.AI_AUTOMATION
_RESOURCES = {"ai_automation": _AI_AUTOMATION, "assistant": AiResource.ASSISTANT}


# ------------------------------------------------------------------ typed events


@dataclass(slots=True)
class ApiCall:
    operation_name: str
    """The ``operationName``, or ``"Not specified"`` when null, absent or empty."""
    token_name: str
    status: int
    count: int

    @property
    def billable_calls(self) -> int:
        """Calls this event counts: ``count``, or 0 for a non-billable status."""
        return self.count if is_billable_status(self.status) else 0


@dataclass(slots=True)
class Project:
    id: str
    name: str
    icon: str | None
    color: str | None


@dataclass(slots=True)
class TaskRun:
    flow_id: str
    flow_name: str | None
    project: Project | None
    tasks: int


@dataclass(slots=True)
class CreditUse:
    resource: AiResource
    agent_id: str | None
    """Required for AI automation; kept (but not counted per agent) for assistants."""
    agent_name: str | None
    micro_credits: int


Usage = ApiCall | TaskRun | CreditUse


@dataclass(slots=True)
class Event:
    """One valid event of a batch, normalized."""

    index: int
    """Position in the request, reported back with its outcome."""
    id: str
    source: str
    organization: str
    """The organization's UUID in canonical (lower-case) form."""
    type: EventType
    time_ms: int
    usage: Usage
    payload: bytes
    """Canonical JSON of the normalized event: what is stored and hashed."""
    digest: bytes
    """First 16 bytes of SHA-256 over ``payload``."""
    org_pk: int = 0
    """Filled in once the organization is resolved."""

    @property
    def key(self) -> tuple[int, str, str]:
        """The dedupe key: unique per (organization, source, id) across the horizon."""
        return (self.org_pk, self.source, self.id)


@dataclass(frozen=True, slots=True)
class NotJson:
    """An NDJSON line that is not JSON: rejected as an event, not as the whole batch."""

    reason: str


@dataclass(frozen=True, slots=True)
class Rejection:
    index: int
    id: str | None
    code: RejectionCode
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "code": self.code.value,
            "message": self.message,
        }


@dataclass(slots=True)
class IngestResult:
    """The response of an ingest request, and of each batch of the CLI."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [r.as_json() for r in sorted(self.rejected, key=lambda r: r.index)],
        }


# ------------------------------------------------------------------ validation


_Problems = list[str]
"""An event's problems, each ``"path: reason"``."""


def _add(problems: _Problems, path: str, reason: str) -> None:
    problems.append(f"{path}: {reason}")


def _text(
    value: object, path: str, problems: _Problems, max_length: int, *, required: bool = True
) -> str | None:
    if value is None:
        if required:
            _add(problems, path, "is required")
        return None
    if not isinstance(value, str) or not value or len(value) > max_length:
        _add(problems, path, f"must be a string of 1 to {max_length} characters")
        return None
    if value.isascii() and value.isprintable():
        return value  # the usual case, without the full check (domain/text.py)
    if (problem := text_rules.character_problem(value)) is not None:
        _add(problems, path, problem)
        return None
    return value


def _integer(value: object, path: str, problems: _Problems, low: int, high: int) -> int | None:
    if type(value) is not int:  # bool is an int subclass and is refused on purpose
        _add(problems, path, "is required" if value is None else "must be an integer")
        return None
    if value < low:
        _add(problems, path, f"must be at least {low}")
        return None
    if value > high:
        _add(problems, path, f"must be at most {high}")
        return None
    return value


class EventValidator:
    """Validates the events of one batch.

    Strings repeated across a batch (organizations, times) are parsed once per batch:
    a gateway's batch typically names a handful of organizations and seconds.
    Unknown fields are ignored (neither stored nor hashed), so producers can add
    fields before Tallyboard knows them.
    """

    __slots__ = ("_orgs", "_times")

    def __init__(self) -> None:
        self._orgs: dict[str, str | None] = {}
        self._times: dict[str, int | str] = {}

    def validate(self, raw: object, index: int) -> Event | Rejection:
        if isinstance(raw, NotJson):
            return Rejection(index, None, RejectionCode.INVALID_EVENT, raw.reason)
        if not isinstance(raw, dict):
            return Rejection(
                index, None, RejectionCode.INVALID_EVENT, "event: must be a JSON object"
            )
        problems: _Problems = []
        event_id = _text(raw.get("id"), "id", problems, MAX_ID_LENGTH)
        source = _text(raw.get("source"), "source", problems, MAX_ID_LENGTH)
        organization = self._organization(raw.get("organization"), problems)
        time_ms = self._time(raw.get("time"), problems)
        type_text = raw.get("type")
        kind = _KINDS.get(type_text) if isinstance(type_text, str) else None
        event_type = kind[0] if kind is not None else None
        if kind is None:
            _add(problems, "type", "is required" if type_text is None else f"must be {_TYPE_LIST}")
        data = raw.get("data")
        usage: Usage | None = None
        if not isinstance(data, dict):
            _add(problems, "data", "is required" if data is None else "must be a JSON object")
        elif kind is not None:
            usage = kind[1](data, problems)
        if (
            problems
            or event_id is None
            or source is None
            or organization is None
            or time_ms is None
            or event_type is None
            or usage is None
        ):
            message = "; ".join(problems) or "event: is not valid"
            return Rejection(index, event_id, RejectionCode.INVALID_EVENT, message)
        payload = _canonical(event_type, time_ms, usage)
        digest = hashlib.sha256(payload).digest()[:16]
        return Event(
            index, event_id, source, organization, event_type, time_ms, usage, payload, digest
        )

    def _organization(self, value: object, problems: _Problems) -> str | None:
        if not isinstance(value, str):
            _add(
                problems,
                "organization",
                "is required" if value is None else "must be a UUID string",
            )
            return None
        try:
            canonical = self._orgs[value]
        except KeyError:
            canonical = _canonical_uuid(value)
            if len(self._orgs) < 10_000:
                self._orgs[value] = canonical
        if canonical is None:
            _add(problems, "organization", "must be a UUID")
        return canonical

    def _time(self, value: object, problems: _Problems) -> int | None:
        if not isinstance(value, str):
            _add(problems, "time", "is required" if value is None else TIME_SHAPE)
            return None
        try:
            parsed = self._times[value]
        except KeyError:
            parsed = parse_time(value)
            if len(self._times) < 10_000:
                self._times[value] = parsed
        if isinstance(parsed, str):
            _add(problems, "time", parsed)
            return None
        return parsed


def _canonical_uuid(text: str) -> str | None:
    if len(text) != 36:
        return None
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _api_call(data: dict[str, Any], problems: _Problems) -> ApiCall | None:
    operation = data.get("operationName")
    if operation == "":
        operation = None
    operation = _text(operation, "data.operationName", problems, MAX_TEXT_LENGTH, required=False)
    token = _text(data.get("tokenName"), "data.tokenName", problems, MAX_TEXT_LENGTH)
    status = _integer(data.get("status", 200), "data.status", problems, 100, 599)
    count = _integer(data.get("count", 1), "data.count", problems, 1, MAX_QUANTITY)
    if token is None or status is None or count is None or problems:
        return None
    return ApiCall(operation or NOT_SPECIFIED, token, status, count)


def _task_run(data: dict[str, Any], problems: _Problems) -> TaskRun | None:
    flow_id = _text(data.get("flowId"), "data.flowId", problems, MAX_ID_LENGTH)
    flow_name = _text(
        data.get("flowName"), "data.flowName", problems, MAX_TEXT_LENGTH, required=False
    )
    project = _project(data.get("project"), problems)
    tasks = _integer(data.get("tasks"), "data.tasks", problems, 0, MAX_QUANTITY)
    if flow_id is None or tasks is None or problems:
        return None
    return TaskRun(flow_id, flow_name, project, tasks)


def _project(value: object, problems: _Problems) -> Project | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        _add(problems, "data.project", "must be a JSON object")
        return None
    project_id = _text(value.get("id"), "data.project.id", problems, MAX_ID_LENGTH)
    name = _text(value.get("name"), "data.project.name", problems, MAX_TEXT_LENGTH)
    icon = _text(value.get("icon"), "data.project.icon", problems, MAX_TEXT_LENGTH, required=False)
    color = _text(
        value.get("color"), "data.project.color", problems, MAX_TEXT_LENGTH, required=False
    )
    if project_id is None or name is None:
        return None
    return Project(project_id, name, icon, color)


def _credit_use(data: dict[str, Any], problems: _Problems) -> CreditUse | None:
    resource_text = data.get("resource")
    resource = _RESOURCES.get(resource_text) if isinstance(resource_text, str) else None
    if resource is None:
        _add(
            problems,
            "data.resource",
            "is required" if resource_text is None else "must be ai_automation or assistant",
        )
    agent_id = _text(
        data.get("agentId"),
        "data.agentId",
        problems,
        MAX_ID_LENGTH,
        required=resource is _AI_AUTOMATION,
    )
    agent_name = _text(
        data.get("agentName"), "data.agentName", problems, MAX_TEXT_LENGTH, required=False
    )
    micro = _credits(data.get("credits"), problems)
    if resource is None or micro is None or problems:
        return None
    return CreditUse(resource, agent_id, agent_name, micro)


def _credits(value: object, problems: _Problems) -> int | None:
    if type(value) is int and 0 <= value <= MAX_EVENT_CREDITS:
        return value * MICRO  # the common whole-credit case, without Decimal
    if type(value) is float and 0.0 <= value < MAX_EVENT_CREDITS:
        # repr() is the shortest text that round-trips, i.e. the number the producer
        # wrote; in plain notation with at most 6 decimals it converts exactly.
        text = repr(value)
        whole, dot, fraction = text.partition(".")
        if dot and len(fraction) <= 6 and "e" not in fraction:
            return int(whole) * MICRO + int(fraction.ljust(6, "0"))
    if value is None:
        _add(problems, "data.credits", "is required")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _add(problems, "data.credits", "must be a number")
        return None
    try:
        return parse_credits(value, MAX_EVENT_CREDITS)
    except ValueError as exc:
        _add(problems, "data.credits", str(exc))
        return None


_KINDS: dict[str, tuple[EventType, Callable[[dict[str, Any], _Problems], Usage | None]]] = {
    EventType.API_CALL.value: (EventType.API_CALL, _api_call),
    EventType.INTEGRATION_TASK.value: (EventType.INTEGRATION_TASK, _task_run),
    EventType.AI_CREDIT.value: (EventType.AI_CREDIT, _credit_use),
}
"""Event type text -> (type, validator of its ``data``)."""


def _canonical(event_type: EventType, time_ms: int, usage: Usage) -> bytes:
    """The normalized event as JSON with a fixed key order: equal events, equal bytes."""
    data: dict[str, Any]
    if isinstance(usage, ApiCall):
        data = {
            "operationName": usage.operation_name,
            "tokenName": usage.token_name,
            "status": usage.status,
            "count": usage.count,
        }
    elif isinstance(usage, TaskRun):
        project = usage.project
        data = {
            "flowId": usage.flow_id,
            "flowName": usage.flow_name,
            "project": None
            if project is None
            else {
                "id": project.id,
                "name": project.name,
                "icon": project.icon,
                "color": project.color,
            },
            "tasks": usage.tasks,
        }
    else:
        data = {
            "resource": "ai_automation" if usage.resource is _AI_AUTOMATION else "assistant",
            "agentId": usage.agent_id,
            "agentName": usage.agent_name,
            "microCredits": usage.micro_credits,
        }
    return orjson.dumps({"type": event_type.value, "time": time_ms, "data": data})


# ------------------------------------------------------------------ folding


def usage_deltas(events: Iterable[Event]) -> RollupDeltas:
    """What newly stored events add to the rollups (duplicates must not be passed)."""
    deltas = RollupDeltas()
    days: dict[int, date] = {}
    for event in events:
        day_number = event.time_ms // _DAY_MS
        day = days.get(day_number)
        if day is None:
            day = days[day_number] = date.fromordinal(_EPOCH_ORDINAL + day_number)
        usage = event.usage
        if isinstance(usage, ApiCall):
            calls = usage.billable_calls
            if calls:
                deltas.add_api_calls(
                    (event.org_pk, day, usage.operation_name, usage.token_name), calls
                )
        elif isinstance(usage, TaskRun):
            deltas.add_flow_run(
                (event.org_pk, day, usage.flow_id), usage.tasks, event.time_ms // 1000
            )
        else:
            # Assistants are never listed individually: one row per day for all of them.
            agent = (usage.agent_id or "") if usage.resource is _AI_AUTOMATION else ""
            deltas.add_credits((event.org_pk, day, usage.resource, agent), usage.micro_credits)
    return deltas
