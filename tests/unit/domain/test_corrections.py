"""What voiding a stored event takes away (section 11): the event read back from its
stored payload is the event that was accepted, and its void deltas are exactly its
usage deltas negated (the latest run or job is recomputed by the caller), for every
event type."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tallyboard.domain.corrections import event_from_payload, void_deltas
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event
from tests.support.events import ai_credit, api_call, task_run

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
ORG = "8a1c4f10-1111-4d2c-9c2a-abc123def456"


def _job() -> dict[str, Any]:
    return {
        "id": "job-1",
        "source": "s",
        "type": "automation.job",
        "time": "2026-11-20T09:30:00Z",
        "organization": ORG,
        "data": {"automationId": "a1", "automationName": "Move", "jobs": 4},
    }


@pytest.mark.parametrize(
    "raw",
    [api_call(ORG, AT, count=3), task_run(ORG, AT), ai_credit(ORG, AT), _job()],
    ids=["api.call", "integration.task", "ai.credit", "automation.job"],
)
def test_a_stored_event_voids_exactly_what_it_added(raw: dict[str, Any]) -> None:
    event = EventValidator().validate(raw, 0)
    assert isinstance(event, Event), event
    event.org_pk = 7
    stored = event_from_payload(7, event.source, event.id, ORG, event.payload)
    assert stored.usage == event.usage
    assert (stored.type, stored.time_ms) == (event.type, event.time_ms)

    added, taken = usage_deltas([event]), void_deltas(stored)
    assert taken.api_calls == {key: -calls for key, calls in added.api_calls.items()}
    assert taken.ai_credits == {key: -micro for key, micro in added.ai_credits.items()}
    assert {k: (d.tasks, d.runs) for k, d in taken.flow_runs.items()} == {
        k: (-d.tasks, -d.runs) for k, d in added.flow_runs.items()
    }
    assert {k: d.jobs for k, d in taken.automation_jobs.items()} == {
        k: -d.jobs for k, d in added.automation_jobs.items()
    }
    assert not added.is_empty()
