"""Usage events as the ingest API receives them (spec §5), once validated and normalized.

The types only: :mod:`tallyboard.domain.event_validation` turns raw JSON into an
:class:`Event` or a :class:`Rejection`, :mod:`tallyboard.domain.event_fold` folds stored
events into rollup deltas, and the ingest edge (``tallyboard.ingest``) renders results
as JSON. Normalized events make replays recognisable: times are epoch milliseconds,
credits integer micro-credits, defaults filled in, and ``payload`` is the canonical JSON
that is stored and hashed (same hash: a duplicate; different hash: ``CONFLICT``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tallyboard.domain import text as text_rules
from tallyboard.domain.usage import AiResource, EventType, is_billable_status

__all__ = [
    "EVENT_TYPE_CODES",
    "MAX_EVENT_CREDITS",
    "MAX_ID_LENGTH",
    "MAX_QUANTITY",
    "MAX_TEXT_LENGTH",
    "ApiCall",
    "CreditUse",
    "Event",
    "JobRun",
    "NotJson",
    "Project",
    "Rejection",
    "RejectionCode",
    "TaskRun",
    "Usage",
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


class RejectionCode(StrEnum):
    INVALID_EVENT = "INVALID_EVENT"
    UNKNOWN_ORGANIZATION = "UNKNOWN_ORGANIZATION"
    FORBIDDEN_ORGANIZATION = "FORBIDDEN_ORGANIZATION"
    OUT_OF_WINDOW = "OUT_OF_WINDOW"
    CONFLICT = "CONFLICT"
    PERIOD_CLOSED = "PERIOD_CLOSED"


EVENT_TYPE_CODES: dict[EventType, int] = {
    EventType.API_CALL: 1,
    EventType.INTEGRATION_TASK: 2,
    EventType.AI_CREDIT: 3,
    EventType.AUTOMATION_JOB: 4,
}
"""How an event's type is stored (``events.type``, a small integer)."""


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


@dataclass(slots=True)
class JobRun:
    """Jobs of one automation: counted each time its rule's event fires (spec §9)."""

    automation_id: str
    automation_name: str | None
    jobs: int


Usage = ApiCall | TaskRun | CreditUse | JobRun


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
