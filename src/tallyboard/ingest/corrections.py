"""Corrections (section 11): voids and signed adjustments, exactly once, in ONE
transaction with the rollup changes and their audit entries.

Each entry is judged alone, inside a savepoint of the batch's transaction: a rejected
entry (``NOT_FOUND``, ``CONFLICT``, ``NEGATIVE_USAGE``, ...) rolls back to it and
changes nothing -- its adjustment id stays unused -- while every applied entry commits
with the others. Rollups change through the same writer as ingestion, so answer-reuse
versions are raised and the ceiling holds exactly as for events.

A void makes its event count nowhere, as if it had never been accepted: its calls,
tasks, runs and credits are subtracted, the last run of its flow is recomputed from the
events that still count, and a row it touched is deleted when nothing left in the
ledger adds to it (``storage/correction_rows.py``: a value whose only usage was voided
leaves every listing, one that still has a zero-credit run stays). An adjustment adds
amounts only, and deletes nothing: it is itself an entry of every row it touches.
"""

from __future__ import annotations

import logging
import random
import time
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
from tallyboard.domain.events import Event
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, OTHER, EventType
from tallyboard.ingest.window import Window
from tallyboard.storage import audit_store, closed_months_store, tenancy_store
from tallyboard.storage import correction_store as store
from tallyboard.storage.correction_last_times import restore_last_times
from tallyboard.storage.correction_locks import lock_months, lost_to_a_deadlock
from tallyboard.storage.correction_rows import drop_unbacked_rows
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["CorrectionResult", "CorrectionService"]

_ATTEMPTS = 5
"""A batch PostgreSQL failed to end a lock cycle changed nothing: it is judged again
from the start. Its lock order leaves one cycle possible -- two batches creating the
same adjustment ids (of usage that raises no version) in opposite orders, in different
months -- and retrying ends it like any other."""
_log = logging.getLogger(__name__)
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
        with self._db.read() as conn:
            orgs = tenancy_store.orgs_by_uuid(conn, {_org_of(e) for e in entries})
        org_pks = {u: o.pk for u, o in orgs.items()}
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                judged = self._judge_all(entries, actor or operating_system_actor(), org_pks)
                break
            except Exception as exc:
                if not lost_to_a_deadlock(exc) or attempt == _ATTEMPTS:
                    raise
                _log.warning("corrections: batch retried after a deadlock")
                # Apart, so the batch that won finishes before this one takes locks again.
                time.sleep(random.uniform(0.05, 0.2) * attempt)
        result.applied, result.unchanged = judged.applied, judged.unchanged
        result.rejected.extend(judged.rejected)
        return result

    def _judge_all(
        self, entries: list[Void | Adjustment], actor: Actor, org_pks: dict[str, int]
    ) -> CorrectionResult:
        """One attempt: every entry judged in one transaction (all of it or nothing)."""
        result = CorrectionResult()
        run = _Run(self, self._clock.now(), actor, org_pks)
        try:
            with self._events.transaction() as conn:
                run.lock(conn, entries)
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

    def lock(self, conn: Connection, entries: list[Void | Adjustment]) -> None:
        """Lock every month the batch may write, before its first change (one lock
        order with every other writer: ``storage/correction_locks.py``)."""
        writes: set[tuple[int, str, EventType]] = set()
        for entry in entries:
            org_pk = self.org_pks.get(_org_of(entry))
            if org_pk is None:
                continue
            if isinstance(entry, Void):
                stored = store.find_event(conn, org_pk, entry.source, entry.id)
                if stored is None:
                    continue
                time_ms = stored.time_ms  # an event's time and type never change
                kind = EventType(orjson.loads(stored.payload)["type"])
            elif self.window.problem(time_ms := entry.event.time_ms) is not None:
                continue  # refused before it writes anything
            else:
                kind = entry.event.type
            writes.add((org_pk, format_ms(time_ms)[:7], kind))
        lock_months(conn, self.dialect, writes)

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
        label = format_ms(event.time_ms)[:10]
        if isinstance(entry, Void):
            restore_last_times(conn, event)
        if store.has_negative_figures(conn, event.org_pk, label):
            raise _Refused(_negative(entry))
        if isinstance(entry, Void):
            drop_unbacked_rows(conn, event, deltas)


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
