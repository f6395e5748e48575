"""Corrections of automation jobs, in the pure domain: a stored ``automation.job``
payload reads back as the job it was, a void takes its jobs away, and an adjustment
(negative too) counts jobs only -- it never moves the last job."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tallyboard.domain.corrections import (
    Adjustment,
    adjustment_deltas,
    event_from_payload,
    read_correction,
    void_deltas,
)
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event, JobRun
from tallyboard.domain.rollup import JobDelta
from tests.support.usage import automation_job

ORG = "0b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e11"
AT = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)
KEY = (7, date(2026, 11, 3), "auto-1")


def test_a_stored_job_reads_back_and_its_void_takes_every_job_away() -> None:
    raw = automation_job(ORG, AT, "auto-1", 4, automation_name="Move", event_id="j1")
    event = EventValidator().validate(raw, 0)
    assert isinstance(event, Event)
    stored = event_from_payload(7, event.source, event.id, ORG, event.payload)
    assert stored.usage == JobRun("auto-1", "Move", 4)
    assert stored.digest == event.digest
    assert void_deltas(stored).automation_jobs == {KEY: JobDelta(-4, 0)}


def test_a_job_adjustment_may_be_negative_and_never_moves_the_last_job() -> None:
    raw = {
        "action": "adjust",
        "id": "adj-1",
        "organization": ORG,
        "type": "automation.job",
        "time": "2026-11-03T09:30:00Z",
        "data": {"automationId": "auto-1", "jobs": -3},
        "reason": "double-counted",
    }
    entry = read_correction(raw, 0, EventValidator())
    assert isinstance(entry, Adjustment) and entry.negative
    entry.event.org_pk = 7
    assert adjustment_deltas(entry.event).automation_jobs == {KEY: JobDelta(-3, 0)}
    again = event_from_payload(7, "adjustment", "adj-1", ORG, entry.event.payload)
    assert again.usage == JobRun("auto-1", None, -3)
