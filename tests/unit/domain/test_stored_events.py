"""``verify``'s decoding of stored payloads (no hash, batch at a time) gives the events
a void reads back, for every event kind: the fold it feeds is the write paths' own."""

from __future__ import annotations

from tallyboard.domain.corrections import event_from_payload
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_validation import EventValidator, canonical_payload
from tallyboard.domain.events import Event
from tallyboard.domain.stored_events import ledger_events

_ORG = "8b0c2f3e-1f4e-4d55-9a57-0c1e7c7a6f01"
_RAW = [
    {"type": "api.call", "data": {"operationName": None, "tokenName": "bot", "status": 200}},
    {"type": "api.call", "data": {"operationName": "Get", "tokenName": "b", "status": 503}},
    {
        "type": "integration.task",
        "data": {
            "flowId": "f1",
            "tasks": 4,
            "project": {"id": "p1", "name": "P", "icon": None, "color": "#fff"},
        },
    },
    {"type": "ai.credit", "data": {"resource": "ai_automation", "agentId": "a", "credits": 2}},
    {"type": "ai.credit", "data": {"resource": "assistant", "credits": 0.5}},
    {"type": "automation.job", "data": {"automationId": "au", "automationName": "N", "jobs": 3}},
]


def _stored() -> list[bytes]:
    validator = EventValidator()
    payloads = []
    for index, raw in enumerate(_RAW):
        event = validator.validate(
            {
                "id": f"e{index}",
                "source": "s",
                "organization": _ORG,
                "time": "2026-11-03T10:00:00Z",
                **raw,
            },
            index,
        )
        assert isinstance(event, Event), event
        payloads.append(canonical_payload(event.type, event.time_ms, event.usage))
    return payloads


def test_ledger_events_decode_as_a_void_does() -> None:
    payloads = _stored()
    decoded = ledger_events(7, payloads)
    for payload, event in zip(payloads, decoded, strict=True):
        read_back = event_from_payload(7, "", "", "", payload)
        assert (event.type, event.time_ms, event.usage, event.org_pk) == (
            read_back.type,
            read_back.time_ms,
            read_back.usage,
            7,
        )
    folded = usage_deltas(decoded)
    assert folded == usage_deltas([event_from_payload(7, "", "", "", p) for p in payloads])
    assert len(folded.api_calls) == 1  # the 503 is not billable
    assert len(folded.automation_jobs) == len(folded.flow_runs) == 1
    assert len(folded.ai_credits) == 2
