"""Corrections (section 11): voids and signed adjustments, validated entry by entry.

Each entry of a correction batch becomes a :class:`Void`, an :class:`Adjustment` or a
:class:`CorrectionRejection` naming its index and every bad field. An adjustment is an
event of any type whose amount (``count``, ``tasks``, ``credits``, ``jobs``) may be
negative: it is validated by the ingest rules on its absolute amount (one validator,
one set of messages), then the sign is put back, so its stored payload and hash carry
it.

Pure: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import date
from enum import StrEnum
from typing import Any

import orjson

from tallyboard.domain import text as text_rules
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_validation import EventValidator, canonical_payload
from tallyboard.domain.events import (
    MAX_ID_LENGTH,
    ApiCall,
    Event,
    JobRun,
    NotJson,
    Rejection,
    TaskRun,
    Usage,
)
from tallyboard.domain.rollup import FlowRunDelta, JobDelta, RollupDeltas
from tallyboard.domain.stored_events import usage_from_stored
from tallyboard.domain.usage import EventType

__all__ = [
    "MAX_REASON_LENGTH",
    "Adjustment",
    "CorrectionCode",
    "CorrectionRejection",
    "Void",
    "adjustment_deltas",
    "event_from_payload",
    "read_correction",
    "void_deltas",
]

MAX_REASON_LENGTH = 500
ADJUSTMENT_SOURCE = "adjustment"
"""The source an adjustment is validated under (adjustments are keyed by id alone)."""
_AMOUNTS = {
    "api.call": "count",
    "integration.task": "tasks",
    "ai.credit": "credits",
    "automation.job": "jobs",
}
_DAY_MS = 86_400_000


class CorrectionCode(StrEnum):
    INVALID_CORRECTION = "INVALID_CORRECTION"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    NEGATIVE_USAGE = "NEGATIVE_USAGE"
    OUT_OF_WINDOW = "OUT_OF_WINDOW"
    PERIOD_CLOSED = "PERIOD_CLOSED"
    UNKNOWN_ORGANIZATION = "UNKNOWN_ORGANIZATION"


@dataclass(frozen=True, slots=True)
class CorrectionRejection:
    index: int
    id: str | None
    code: CorrectionCode
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "id": self.id,
            "code": self.code.value,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Void:
    index: int
    organization: str
    """The organization's UUID, canonical."""
    source: str
    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Adjustment:
    index: int
    id: str
    reason: str
    event: Event
    """The adjustment as a normalized event with its signed amount (``source`` is
    :data:`ADJUSTMENT_SOURCE`; ``payload`` and ``digest`` carry the sign)."""
    negative: bool


def _reason(raw: dict[str, Any], problems: list[str]) -> str | None:
    reason = raw.get("reason")
    if not isinstance(reason, str) or not 1 <= len(reason) <= MAX_REASON_LENGTH:
        problems.append(f"reason: must be a string of 1 to {MAX_REASON_LENGTH} characters")
        return None
    if (problem := text_rules.character_problem(reason)) is not None:
        problems.append(f"reason: {problem}")
        return None
    return reason


def _text_id(value: object, path: str, problems: list[str]) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        problems.append(f"{path}: must be a string of 1 to {MAX_ID_LENGTH} characters")
        return None
    return value


def read_correction(
    raw: object, index: int, validator: EventValidator
) -> Void | Adjustment | CorrectionRejection:
    """One entry of a batch, validated whole (every bad field named in the message)."""
    if isinstance(raw, NotJson):
        return _invalid(index, None, [raw.reason])
    if not isinstance(raw, dict):
        return _invalid(index, None, ["entry: must be a JSON object"])
    raw_id = raw.get("id")
    entry_id = raw_id if isinstance(raw_id, str) else None
    action = raw.get("action")
    if action == "void":
        return _void(raw, index, entry_id)
    if action == "adjust":
        return _adjustment(raw, index, entry_id, validator)
    reason = "is required" if action is None else "must be void or adjust"
    return _invalid(index, entry_id, [f"action: {reason}"])


def _invalid(index: int, entry_id: str | None, problems: list[str]) -> CorrectionRejection:
    message = "; ".join(problems)
    return CorrectionRejection(index, entry_id, CorrectionCode.INVALID_CORRECTION, message)


def _void(raw: dict[str, Any], index: int, entry_id: str | None) -> Void | CorrectionRejection:
    problems: list[str] = []
    organization = _organization(raw.get("organization"), problems)
    source = _text_id(raw.get("source"), "source", problems)
    event_id = _text_id(raw.get("id"), "id", problems)
    reason = _reason(raw, problems)
    if problems or organization is None or source is None or event_id is None or reason is None:
        return _invalid(index, entry_id, problems)
    return Void(index, organization, source, event_id, reason)


def _organization(value: object, problems: list[str]) -> str | None:
    """The canonical UUID, with the messages ingestion gives (spec section 5)."""
    if not isinstance(value, str):
        reason = "is required" if value is None else "must be a UUID string"
        problems.append(f"organization: {reason}")
        return None
    try:
        if len(value) != 36:
            raise ValueError(value)
        return str(uuid.UUID(value))
    except ValueError:
        problems.append("organization: must be a UUID")
        return None


def _adjustment(
    raw: dict[str, Any], index: int, entry_id: str | None, validator: EventValidator
) -> Adjustment | CorrectionRejection:
    problems: list[str] = []
    reason = _reason(raw, problems)
    data = raw.get("data")
    event_type = raw.get("type")
    amount_field = _AMOUNTS.get(event_type) if isinstance(event_type, str) else None
    negative = False
    if isinstance(data, dict) and amount_field is not None:
        amount = data.get(amount_field)
        if isinstance(amount, (int, float)) and not isinstance(amount, bool) and amount < 0:
            negative = True
            data = {**data, amount_field: -amount}
    event_like = {
        "id": raw.get("id"),
        "source": ADJUSTMENT_SOURCE,
        "organization": raw.get("organization"),
        "type": event_type,
        "time": raw.get("time"),
        "data": data,
    }
    outcome = validator.validate(event_like, index)
    if isinstance(outcome, Rejection):
        problems = [*outcome.message.split("; "), *problems]
        return _invalid(index, entry_id, problems)
    if problems or reason is None:
        return _invalid(index, entry_id, problems)
    if negative:
        usage = _negated(outcome.usage)
        payload = canonical_payload(outcome.type, outcome.time_ms, usage)
        digest = hashlib.sha256(payload).digest()[:16]
        outcome = replace(outcome, usage=usage, payload=payload, digest=digest)
    return Adjustment(index, outcome.id, reason, outcome, negative)


def _negated(usage: Usage) -> Usage:
    if isinstance(usage, ApiCall):
        return replace(usage, count=-usage.count)
    if isinstance(usage, TaskRun):
        return replace(usage, tasks=-usage.tasks)
    if isinstance(usage, JobRun):
        return replace(usage, jobs=-usage.jobs)
    return replace(usage, micro_credits=-usage.micro_credits)


def _day(time_ms: int) -> date:
    return date.fromordinal(date(1970, 1, 1).toordinal() + time_ms // _DAY_MS)


def adjustment_deltas(event: Event) -> RollupDeltas:
    """What an adjustment changes: amounts only -- never runs, never the last run or
    the last job."""
    usage = event.usage
    deltas = RollupDeltas()
    if isinstance(usage, TaskRun):
        key = (event.org_pk, _day(event.time_ms), usage.flow_id)
        deltas.flow_runs[key] = FlowRunDelta(usage.tasks, 0, 0)
    elif isinstance(usage, JobRun):
        job_key = (event.org_pk, _day(event.time_ms), usage.automation_id)
        deltas.automation_jobs[job_key] = JobDelta(usage.jobs, 0)
    else:
        return usage_deltas([event])
    return deltas


def void_deltas(event: Event) -> RollupDeltas:
    """What voiding a stored event takes away: its whole fold, runs and jobs included
    (the last run or job is recomputed from the remaining ledger by the caller)."""
    added = usage_deltas([event])
    deltas = RollupDeltas()
    deltas.api_calls = {key: -calls for key, calls in added.api_calls.items()}
    deltas.flow_runs = {
        key: FlowRunDelta(-run.tasks, -run.runs, 0) for key, run in added.flow_runs.items()
    }
    deltas.ai_credits = {key: -micro for key, micro in added.ai_credits.items()}
    deltas.automation_jobs = {
        key: JobDelta(-job.jobs, 0) for key, job in added.automation_jobs.items()
    }
    return deltas


def event_from_payload(
    org_pk: int, source: str, event_id: str, organization: str, payload: bytes
) -> Event:
    """A stored event (its canonical payload) as the :class:`Event` it was."""
    stored = orjson.loads(payload)
    event_type = EventType(stored["type"])
    usage = usage_from_stored(event_type, stored["data"])
    digest = hashlib.sha256(payload).digest()[:16]
    return Event(
        0,
        event_id,
        source,
        organization,
        event_type,
        stored["time"],
        usage,
        payload,
        digest,
        org_pk,
    )
