"""What counts, and under which names.

These are the contract's counting rules (spec §3) in one place, shared by the
self-metering of the GraphQL endpoint and by ingested ``api.call`` events.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum

__all__ = [
    "COUNTER",
    "NOT_SPECIFIED",
    "OTHER",
    "AiResource",
    "ApiDimension",
    "EventType",
    "is_billable_status",
    "personal_token_label",
]

NOT_SPECIFIED = "Not specified"
"""Operation name of calls that named none."""

OTHER = "Other"
"""Operation name that absorbs calls beyond the per-organization monthly name cap."""

COUNTER = "Counter"
"""Dimension label of a total (a query without a dimension)."""


class ApiDimension(IntEnum):
    """How an API-call rollup row is keyed; stored as a small integer."""

    TOTAL = 0
    OPERATION_NAME = 1
    TOKEN = 2


class AiResource(IntEnum):
    AI_AUTOMATION = 1
    ASSISTANT = 2


class EventType(StrEnum):
    API_CALL = "api.call"
    INTEGRATION_TASK = "integration.task"
    AI_CREDIT = "ai.credit"
    AUTOMATION_JOB = "automation.job"


_BILLABLE_4XX = frozenset({404, 408, 422})


def is_billable_status(status: int) -> bool:
    """The gateways' rule: 2xx, 3xx, 404, 408 and 422 count; other 4xx and 5xx do not."""
    return 200 <= status < 400 or status in _BILLABLE_4XX


def personal_token_label(user_name: str, token_name: str) -> str:
    """How a personal access token appears in the ``token`` dimension."""
    return f"{user_name} - {token_name}"
