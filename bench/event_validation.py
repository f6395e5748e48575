"""``python -m bench.event_validation``: hand validation of events vs a pydantic ``TypeAdapter``.

Decision 0016 keeps the faster of the two that still reports every problem of an event
with its field path and the same messages. Both sides get the same inputs (batches of
1,000 events of the three types, a handful of organizations and seconds, as a gateway
sends them) and must produce the same :class:`Event` objects (payload and digest
included); the invalid inputs must produce the same messages. Printed, not part of
``make bench`` (it needs no server and says nothing about a release).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from tallyboard.domain import text as text_rules
from tallyboard.domain.event_time import parse_time
from tallyboard.domain.event_validation import EventValidator, _canonical, _credits
from tallyboard.domain.events import (
    MAX_EVENT_CREDITS,
    MAX_ID_LENGTH,
    MAX_QUANTITY,
    MAX_TEXT_LENGTH,
    ApiCall,
    CreditUse,
    Event,
    Project,
    Rejection,
    RejectionCode,
    TaskRun,
    Usage,
)
from tallyboard.domain.usage import NOT_SPECIFIED, AiResource, EventType

ORGS = [str(uuid.UUID(int=n * 7919 + 1)) for n in range(5)]
BATCH = 1_000
_STRICT = ConfigDict(strict=True, extra="ignore")
Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]


class _Project(BaseModel):
    model_config = _STRICT
    id: Id
    name: Text
    icon: Text | None = None
    color: Text | None = None


class _ApiData(BaseModel):
    model_config = _STRICT
    operationName: Annotated[str, Field(max_length=MAX_TEXT_LENGTH)] | None = None
    tokenName: Text
    status: Annotated[int, Field(ge=100, le=599)] = 200
    count: Annotated[int, Field(ge=1, le=MAX_QUANTITY)] = 1


class _TaskData(BaseModel):
    model_config = _STRICT
    flowId: Id
    flowName: Text | None = None
    project: _Project | None = None
    tasks: Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


class _CreditData(BaseModel):
    model_config = _STRICT
    resource: Literal["ai_automation", "assistant"]
    agentId: Id | None = None
    agentName: Text | None = None
    credits: int | float


class _Envelope(BaseModel):
    model_config = _STRICT
    id: Id
    source: Id
    organization: Annotated[str, Field(min_length=36, max_length=36)]
    time: str


class _ApiIn(_Envelope):
    type: Literal["api.call"]
    data: _ApiData


class _TaskIn(_Envelope):
    type: Literal["integration.task"]
    data: _TaskData


class _CreditIn(_Envelope):
    type: Literal["ai.credit"]
    data: _CreditData


class _Shape(_Envelope):
    """Only the envelope, for events whose ``type`` the union cannot dispatch on."""

    type: Any = None
    data: dict[str, Any]


_EVENT = TypeAdapter[_ApiIn | _TaskIn | _CreditIn](
    Annotated[_ApiIn | _TaskIn | _CreditIn, Field(discriminator="type")]
)
_SHAPE = TypeAdapter(_Shape)
_BATCH = TypeAdapter(list[Annotated[_ApiIn | _TaskIn | _CreditIn, Field(discriminator="type")]])
_TYPES = ", ".join(t.value for t in EventType)


def _message(error: Any) -> str:
    """One pydantic error in the hand validator's words (``path: reason``)."""
    kind, ctx, value = error["type"], error.get("ctx", {}), error.get("input")
    path = _path(error)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        return "type: " + ("is required" if kind.endswith("found") else f"must be {_TYPES}")
    if kind == "missing" or value is None:
        return f"{path}: is required"
    if path == "organization":
        return "organization: must be a UUID" + ("" if isinstance(value, str) else " string")
    if path == "data.credits":
        return "data.credits: must be a number"
    if kind.startswith("string"):
        high = MAX_ID_LENGTH if path in _ID_PATHS else MAX_TEXT_LENGTH
        return f"{path}: must be a string of 1 to {high} characters"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"{path}: must be a JSON object"
    if kind == "greater_than_equal":
        return f"{path}: must be at least {ctx['ge']}"
    if kind == "less_than_equal":
        return f"{path}: must be at most {ctx['le']}"
    if kind == "literal_error":
        return f"{path}: must be ai_automation or assistant"
    return f"{path}: must be an integer"


def _path(error: Any) -> str:
    parts = [str(p) for p in error["loc"] if p not in _TAGS]
    if parts[:2] == ["data", "credits"]:
        parts = parts[:2]  # the int | float branches are one field to the producer
    return ".".join(parts)


_ORDER = {"id": 0, "source": 1, "organization": 2, "time": 3, "type": 4, "data": 5}


_TAGS = {"api.call", "integration.task", "ai.credit"}
_ID_PATHS = {"id", "source", "data.flowId", "data.agentId", "data.project.id"}


class PydanticValidator:
    """The same contract as :class:`EventValidator`, shape checked by pydantic-core."""

    def __init__(self) -> None:
        self._times: dict[str, int | str] = {}
        self._orgs: dict[str, str | None] = {}

    def validate(self, raw: object, index: int) -> Event | Rejection:
        try:
            model = _EVENT.validate_python(raw)
        except ValidationError as exc:
            return self._reject(raw, index, exc)
        problems: list[str] = []
        time_ms = self._time(model.time, problems)
        usage = _usage(model.data, problems)
        organization = self._uuid(model.organization, problems)
        if problems or time_ms is None or usage is None or organization is None:
            return Rejection(index, model.id, RejectionCode.INVALID_EVENT, "; ".join(problems))
        event_type = EventType(model.type)
        payload = _canonical(event_type, time_ms, usage)
        digest = hashlib.sha256(payload).digest()[:16]
        return Event(
            index, model.id, model.source, organization, event_type, time_ms, usage, payload, digest
        )

    def _reject(self, raw: object, index: int, exc: ValidationError) -> Rejection:
        errors = exc.errors()
        if not isinstance(raw, dict):
            return Rejection(
                index, None, RejectionCode.INVALID_EVENT, "event: must be a JSON object"
            )
        problems: list[str] = []
        if any(e["type"].startswith("union_tag") for e in errors):
            try:  # the union stopped at the tag: check the rest for every other problem
                _SHAPE.validate_python(raw)
            except ValidationError as more:
                errors = [*more.errors(), *errors]
        fields = {_path(e).split(".")[0] for e in errors}
        for name, check in (("organization", self._uuid), ("time", self._time)):
            if name not in fields and isinstance(raw.get(name), str):
                check(raw[name], problems)  # valid shape, checked by hand: still a problem
        messages = list(dict.fromkeys(_message(e) for e in errors))  # credits: said once
        messages += problems
        messages.sort(key=lambda m: _ORDER.get(m.split(".")[0].split(":")[0], 9))
        event_id = None if "id" in fields else raw.get("id")
        return Rejection(index, event_id, RejectionCode.INVALID_EVENT, "; ".join(messages))

    def _uuid(self, text: str, problems: list[str]) -> str | None:
        canonical = self._orgs.get(text, "")
        if canonical == "":
            canonical = self._orgs[text] = _canonical_uuid(text)
        if canonical is None:
            problems.append("organization: must be a UUID")
        return canonical

    def _time(self, text: str, problems: list[str]) -> int | None:
        parsed = self._times.get(text)
        if parsed is None:
            parsed = self._times[text] = parse_time(text)
        if isinstance(parsed, str):
            problems.append(f"time: {parsed}")
            return None
        return parsed


def _canonical_uuid(text: str) -> str | None:
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _text(value: str | None, path: str, problems: list[str]) -> str | None:
    if value is None or (value.isascii() and value.isprintable()):
        return value
    if (problem := text_rules.character_problem(value)) is not None:
        problems.append(f"{path}: {problem}")
    return value


def _usage(data: _ApiData | _TaskData | _CreditData, problems: list[str]) -> Usage | None:
    if isinstance(data, _ApiData):
        token = _text(data.tokenName, "data.tokenName", problems) or ""
        return ApiCall(data.operationName or NOT_SPECIFIED, token, data.status, data.count)
    if isinstance(data, _TaskData):
        p = data.project
        project = None if p is None else Project(p.id, p.name, p.icon, p.color)
        return TaskRun(data.flowId, data.flowName, project, data.tasks)
    resource = (
        AiResource.AI_AUTOMATION if data.resource == "ai_automation" else AiResource.ASSISTANT
    )
    if resource is AiResource.AI_AUTOMATION and data.agentId is None:
        problems.append("data.agentId: is required")
    micro = _credits(data.credits, problems) if data.credits <= MAX_EVENT_CREDITS else None
    if micro is None and not problems:
        problems.append(f"data.credits: must be at most {MAX_EVENT_CREDITS}")
    return None if micro is None else CreditUse(resource, data.agentId, data.agentName, micro)


def valid_batch(size: int = BATCH) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for n in range(size):
        head = {"id": f"evt-{n}", "source": "gateway-eu-1", "organization": ORGS[n % 5]}
        head["time"] = f"2026-11-21T10:{n % 60:02d}:00Z"
        if n % 3 == 0:
            data: dict[str, Any] = {
                "operationName": f"Op{n % 40}",
                "tokenName": "bot",
                "status": 200,
            }
            events.append({**head, "type": "api.call", "data": data})
        elif n % 3 == 1:
            data = {"flowId": f"flow-{n % 50}", "flowName": "Sync", "tasks": n % 7}
            data["project"] = {"id": "p1", "name": "Main", "icon": None, "color": "#fff"}
            events.append({**head, "type": "integration.task", "data": data})
        else:
            data = {"resource": "ai_automation", "agentId": "agent-1", "credits": 1.25}
            events.append({**head, "type": "ai.credit", "data": data})
    return events


INVALID: list[object] = [
    {"id": "", "source": 5, "organization": "nope", "time": "yesterday", "type": "x", "data": []},
    {"id": "a", "source": "s", "organization": ORGS[0], "time": "2026-11-21T10:00:00Z"},
    {"id": "a", "source": "s", "organization": ORGS[0], "time": "2026-11-21T10:00:00Z",
     "type": "api.call", "data": {"tokenName": None, "status": 99, "count": True}},
    {"id": "a", "source": "s", "organization": ORGS[0], "time": "2026-11-21T10:00:00Z",
     "type": "integration.task", "data": {"flowId": "f", "tasks": -1, "project": {"id": "p"}}},
    {"id": "a", "source": "s", "organization": ORGS[0], "time": "2026-11-21T10:00:00Z",
     "type": "ai.credit", "data": {"resource": "robot", "credits": "3"}},
]  # fmt: skip


def per_event_us(validator: Callable[[], Any], batch: Sequence[object], rounds: int = 15) -> float:
    best = float("inf")
    for _ in range(rounds):
        check = validator()
        started = time.perf_counter()
        for index, raw in enumerate(batch):
            check.validate(raw, index)
        best = min(best, time.perf_counter() - started)
    return best / len(batch) * 1e6


def main() -> None:
    batch = valid_batch()
    hand = [EventValidator().validate(raw, i) for i, raw in enumerate(batch)]
    typed = [PydanticValidator().validate(raw, i) for i, raw in enumerate(batch)]
    print(f"valid events, same Event objects: {hand == typed}")
    same = 0
    for index, raw in enumerate(INVALID):
        a, b = EventValidator().validate(raw, index), PydanticValidator().validate(raw, index)
        ok = isinstance(a, Rejection) and isinstance(b, Rejection) and a.message == b.message
        same += ok
        if not ok:
            print(f"  differs #{index}:\n    hand:     {a}\n    pydantic: {b}")
    print(f"invalid events, identical messages: {same}/{len(INVALID)}")
    shape_only = per_event_us(_Bare, batch)
    started = time.perf_counter()
    for _ in range(7):
        _BATCH.validate_python(batch)
    whole = (time.perf_counter() - started) / 7 / len(batch) * 1e6
    print(f"hand EventValidator.validate   {per_event_us(EventValidator, batch):6.2f} us/event")
    print(f"pydantic, to the same Event    {per_event_us(PydanticValidator, batch):6.2f} us/event")
    print(f"pydantic, shape check only     {shape_only:6.2f} us/event")
    print(f"pydantic, shape of the batch   {whole:6.2f} us/event (one call, list adapter)")
    invalid = INVALID * (BATCH // len(INVALID))
    print(f"invalid: hand                  {per_event_us(EventValidator, invalid):6.2f} us/event")
    print(
        f"invalid: pydantic + messages   {per_event_us(PydanticValidator, invalid):6.2f} us/event"
    )


class _Bare:
    """The lower bound of the pydantic side: the union's shape check, nothing else."""

    def validate(self, raw: object, index: int) -> object:
        try:
            return _EVENT.validate_python(raw)
        except ValidationError:
            return None


if __name__ == "__main__":
    main()
