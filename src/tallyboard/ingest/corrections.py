"""Corrections (section 11): voids and signed adjustments, exactly once, in ONE
transaction with the rollup changes and their audit entries.

Each entry is judged alone, inside a savepoint of the batch's transaction: a rejected
entry (``NOT_FOUND``, ``CONFLICT``, ``NEGATIVE_USAGE``, ...) rolls back to it and
changes nothing -- its adjustment id stays unused -- while every applied entry commits
with the others. Rollups change through the same writer as ingestion, so answer-reuse
versions are raised and the ceiling holds exactly as for events.

A void makes its event count nowhere, as if it had never been accepted: its calls,
tasks, runs and credits are subtracted, the last run of its flow is recomputed from the
events that still count, and rows left holding nothing are deleted (so a value whose
only usage was voided leaves every listing). An adjustment adds amounts only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.corrections import (
    Adjustment,
    CorrectionCode,
    CorrectionRejection,
    Void,
    adjustment_deltas,
    event_from_payload,
    read_correction,
    void_deltas,
)
from tallyboard.domain.event_time import epoch_ms, format_ms
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event, JobRun, TaskRun
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, OTHER
from tallyboard.ingest.window import Window
from tallyboard.storage import audit_store, closed_months_store, tenancy_store
from tallyboard.storage import correction_store as store
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.rollup_writer import RollupWriter
from tallyboard.storage.tables_automation import automation_jobs_daily, automation_jobs_monthly

__all__ = ["CorrectionResult", "CorrectionService"]

_DAY_MS = 86_400_000
Outcome = CorrectionRejection | bool
"""A rejection, or True (applied) / False (unchanged)."""


class CorrectionLimits(Protocol):
    @property
    def retention_days(self) -> int: ...
    @property
    def future_skew_seconds(self) -> int: ...


@dataclass
class CorrectionResult:
    applied: int = 0
    unchanged: int = 0
    rejected: list[CorrectionRejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The contract's response (section 11), rejections in index order."""
        return {
            "applied": self.applied,
            "unchanged": self.unchanged,
            "rejected": [r.as_json() for r in sorted(self.rejected, key=lambda r: r.index)],
        }


class _Refused(Exception):
    """Raised inside an entry's savepoint to roll it back with this rejection."""

    def __init__(self, rejection: CorrectionRejection) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


class CorrectionService:
    def __init__(
        self,
        database: Database,
        events: EventStore,
        writer: RollupWriter,
        clock: Clock,
        limits: CorrectionLimits,
    ) -> None:
        self._db = database
        self._events = events
        self._writer = writer
        self._clock = clock
        self._limits = limits

    def correct(self, raw: Sequence[object], actor: Actor | None = None) -> CorrectionResult:
        """Judge and apply every entry; applied ones commit together, with their audit."""
        result = CorrectionResult()
        validator = EventValidator()
        entries: list[Void | Adjustment] = []
        for index, item in enumerate(raw):
            entry = read_correction(item, index, validator)
            if isinstance(entry, CorrectionRejection):
                result.rejected.append(entry)
            else:
                entries.append(entry)
        if not entries:
            return result
        now = self._clock.now()
        with self._db.read() as conn:
            orgs = tenancy_store.orgs_by_uuid(conn, {_org_of(e) for e in entries})
        run = _Run(self, now, actor or operating_system_actor(), {u: o.pk for u, o in orgs.items()})
        try:
            with self._events.transaction() as conn:
                for entry in entries:
                    outcome = run.judge(conn, entry)
                    if isinstance(outcome, CorrectionRejection):
                        result.rejected.append(outcome)
                    elif outcome:
                        result.applied += 1
                    else:
                        result.unchanged += 1
        except Exception:
            self._writer.forget_cached_names()  # savepoints may have taught it names
            raise
        return result


def _org_of(entry: Void | Adjustment) -> str:
    return entry.organization if isinstance(entry, Void) else entry.event.organization


def _day_of(time_ms: int) -> tuple[str, int, int, int]:
    """(``YYYY-MM-DD``, day start, month start, next month start) in epoch ms."""
    day_start = time_ms - time_ms % _DAY_MS
    label = format_ms(day_start)[:10]
    year, month = int(label[:4]), int(label[5:7])
    first = datetime.fromisoformat(f"{label[:7]}-01T00:00:00+00:00")
    nxt = datetime.fromisoformat(f"{year + month // 12:04d}-{month % 12 + 1:02d}-01T00:00:00+00:00")
    return label, day_start, epoch_ms(first), epoch_ms(nxt)


class _Run:
    """One batch's judgement, entry by entry, in one transaction."""

    def __init__(
        self, service: CorrectionService, now: datetime, actor: Actor, org_pks: dict[str, int]
    ) -> None:
        self.service = service
        self.dialect = service._db.dialect
        self.writer = service._writer
        self.now = now
        self.now_ms = epoch_ms(now)
        self.actor = actor
        self.org_pks = org_pks
        limits = service._limits
        self.window = Window.backfill(now, limits.retention_days, limits.future_skew_seconds)
        self.closed: set[str] | None = None

    def _closed(self, conn: Connection, entry: Void | Adjustment, time_ms: int) -> None:
        """Refuse an entry dated in a closed month (read once per batch)."""
        if self.closed is None:
            self.closed = closed_months_store.all_closed(conn)
        if (month := format_ms(time_ms)[:7]) in self.closed:
            raise _Refused(
                CorrectionRejection(
                    entry.index,
                    entry.id,
                    CorrectionCode.PERIOD_CLOSED,
                    f"time: {format_ms(time_ms)} falls in {month}, a closed month",
                )
            )

    def judge(self, conn: Connection, entry: Void | Adjustment) -> Outcome:
        savepoint = conn.begin_nested()
        try:
            if isinstance(entry, Void):
                outcome = self._void(conn, entry)
            else:
                outcome = self._adjust(conn, entry)
        except _Refused as refused:
            savepoint.rollback()
            return refused.rejection
        except Exception as exc:
            savepoint.rollback()
            if not self.dialect.refuses_content(exc):
                raise
            return self._refusal(entry, exc)
        if isinstance(outcome, CorrectionRejection):
            savepoint.rollback()
        else:
            savepoint.commit()
        return outcome

    def _refusal(self, entry: Void | Adjustment, exc: BaseException) -> CorrectionRejection:
        """The database refused the rollup change: below zero, or past the ceiling."""
        if isinstance(entry, Void) or entry.negative:
            return _negative(entry)
        return CorrectionRejection(
            entry.index,
            entry.id,
            CorrectionCode.INVALID_CORRECTION,
            f"data.{_AMOUNT_FIELDS[entry.event.type.value]}: the amount would take a "
            "monthly figure of the organization past its ceiling",
        )

    def _void(self, conn: Connection, entry: Void) -> Outcome:
        org_pk = self.org_pks.get(entry.organization)
        stored = None
        if org_pk is not None:
            stored = store.find_event(conn, org_pk, entry.source, entry.id)
        if org_pk is None or stored is None:
            return CorrectionRejection(
                entry.index,
                entry.id,
                CorrectionCode.NOT_FOUND,
                f"id: no event {entry.id!r} from source {entry.source!r} is stored for "
                f"organization {entry.organization}",
            )
        self._closed(conn, entry, stored.time_ms)
        if stored.voided or not store.claim_void(conn, org_pk, entry.source, entry.id, self.now_ms):
            return False
        event = event_from_payload(
            org_pk, entry.source, entry.id, entry.organization, stored.payload
        )
        deltas = void_deltas(event)
        self._admitted_names(conn, org_pk, deltas)
        self._change(conn, entry, event, deltas)
        details = {
            "source": entry.source,
            "id": entry.id,
            "reason": entry.reason,
            "time": format_ms(event.time_ms),
            "type": event.type.value,
        }
        audit_store.append(
            conn, self.now, self.actor, "correction.void", details, organization=entry.organization
        )
        return True

    def _admitted_names(self, conn: Connection, org_pk: int, deltas: RollupDeltas) -> None:
        """Take calls away under the name they were counted under (Other past the cap)."""
        for key in list(deltas.api_calls):
            _, day, operation, token = key
            if operation in (NOT_SPECIFIED, OTHER):
                continue
            month = day.isoformat()[:7]
            if not store.admitted_operation_names(conn, org_pk, month, [operation]):
                calls = deltas.api_calls.pop(key)
                other = (org_pk, day, OTHER, token)
                deltas.api_calls[other] = deltas.api_calls.get(other, 0) + calls

    def _adjust(self, conn: Connection, entry: Adjustment) -> Outcome:
        event = entry.event
        org_pk = self.org_pks.get(event.organization)
        if org_pk is None:
            return CorrectionRejection(
                entry.index,
                entry.id,
                CorrectionCode.UNKNOWN_ORGANIZATION,
                f"organization: no organization has the UUID {event.organization}",
            )
        if (problem := self.window.problem(event.time_ms)) is not None:
            return CorrectionRejection(entry.index, entry.id, CorrectionCode.OUT_OF_WINDOW, problem)
        self._closed(conn, entry, event.time_ms)
        event.org_pk = org_pk
        outcome = store.insert_adjustment(conn, self.dialect, event, entry.reason, self.now_ms)
        if outcome.existing:
            (stored,) = outcome.existing.values()
            if bytes(stored[0]) == event.digest:
                return False
            return CorrectionRejection(
                entry.index,
                entry.id,
                CorrectionCode.CONFLICT,
                f"id: adjustment {entry.id!r} was applied earlier with a different payload; "
                "the first one stands",
            )
        self._change(conn, entry, event, adjustment_deltas(event))
        details = {"id": entry.id, "reason": entry.reason, **_public(event)}
        audit_store.append(
            conn,
            self.now,
            self.actor,
            "correction.adjust",
            details,
            organization=event.organization,
        )
        return True

    def _change(
        self, conn: Connection, entry: Void | Adjustment, event: Event, deltas: RollupDeltas
    ) -> None:
        """Apply ``deltas``; refuse the entry if any figure it touched went below zero."""
        if not deltas.is_empty():
            self.writer.apply(conn, deltas)
        label = _day_of(event.time_ms)[0]
        if isinstance(entry, Void):
            _lower_latest(conn, event)
        if store.has_negative_figures(conn, event.org_pk, label):
            raise _Refused(_negative(entry))
        store.drop_empty_rows(conn, deltas)


def _lower_latest(conn: Connection, event: Event) -> None:
    """A voided run or job may have been its flow's or automation's latest of the day
    and the month: those become the latest among the events that still count."""
    usage = event.usage
    if not isinstance(usage, TaskRun | JobRun):
        return
    label, day_start, month_start, month_end = _day_of(event.time_ms)
    for daily, bucket, start, end in (
        (True, label, day_start, day_start + _DAY_MS),
        (False, label[:7], month_start, month_end),
    ):
        column = "day" if daily else "month"
        if isinstance(usage, TaskRun):
            table = t.flow_usage_daily if daily else t.flow_usage_monthly
            latest = store.latest_run_ms(conn, event.org_pk, usage.flow_id, start, end)
            new = latest // 1000 if latest >= 0 else 0
            key = (event.org_pk, bucket, usage.flow_id)
            store.lower_last_run(conn, table, column, key, event.time_ms // 1000, new)
        else:
            table = automation_jobs_daily if daily else automation_jobs_monthly
            latest = store.latest_job_ms(conn, event.org_pk, usage.automation_id, start, end)
            key = (event.org_pk, bucket, usage.automation_id)
            store.lower_last_job(conn, table, column, key, event.time_ms, max(latest, 0))


_AMOUNT_FIELDS = {
    "api.call": "count",
    "integration.task": "tasks",
    "ai.credit": "credits",
    "automation.job": "jobs",
}


def _negative(entry: Void | Adjustment) -> CorrectionRejection:
    if isinstance(entry, Void):
        where = "id: voiding this event"
    else:
        where = f"data.{_AMOUNT_FIELDS[entry.event.type.value]}: this amount"
    return CorrectionRejection(
        entry.index,
        entry.id,
        CorrectionCode.NEGATIVE_USAGE,
        f"{where} would make a stored figure of the organization negative (a day or "
        "month, per dimension)",
    )


def _public(event: Event) -> dict[str, Any]:
    """The adjustment's type, time and data as stored (for the audit log)."""
    stored = orjson.loads(event.payload)
    return {"type": stored["type"], "time": format_ms(stored["time"]), "data": stored["data"]}
