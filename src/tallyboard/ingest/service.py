"""Ingesting a batch of events: validate, resolve, dedupe, fold, commit -- exactly once.

Every event of a request ends in exactly one of three outcomes: accepted (stored and
counted now), duplicate (the same event was stored before: not counted again) or
rejected (with a code and a message). Checks run in the order a caller can act on:
the event's own shape (``INVALID_EVENT``), its organization (``UNKNOWN_ORGANIZATION``,
``FORBIDDEN_ORGANIZATION``), its time (``OUT_OF_WINDOW``, then ``PERIOD_CLOSED`` for a
closed month), then the ledger (duplicate or ``CONFLICT``).

The raw insert, the rollup updates and the catalog updates happen in ONE write
transaction, and the result is returned only after it commits: an acknowledged event
is counted exactly once, and a failed request has counted nothing, so retrying it is
always safe (decision 0006).

An event that would take one of its organization's monthly figures past the ceiling
(decision 0012) is the database's to notice: the transaction fails, and the batch is
written again without it (``_write_within_ceiling``), so it is rejected on its own
(``INVALID_EVENT`` naming its amount) and everything else is stored.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Sequence
from typing import Protocol

from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.catalog import catalog_facts
from tallyboard.domain.clock import Clock
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_time import epoch_ms, format_ms
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event, Rejection, RejectionCode
from tallyboard.domain.periods import Month
from tallyboard.ingest.backfill_audit import BackfillAudit
from tallyboard.ingest.ceiling import EventKey, refusal_message, split_within_ceiling
from tallyboard.ingest.parser import parse_events
from tallyboard.ingest.result import IngestResult
from tallyboard.ingest.window import Window
from tallyboard.observability.metrics import Metrics
from tallyboard.storage import catalog_store, closed_months_store, tenancy_store
from tallyboard.storage.database import Database
from tallyboard.storage.dialect import InsertOutcome
from tallyboard.storage.event_store import EventStore
from tallyboard.storage.isolation import apply_isolating, refusal_reason
from tallyboard.storage.rollup_writer import RollupWriter

__all__ = ["IngestLimits", "IngestService"]

_ORG_CACHE_LIMIT = 100_000
"""Organization UUIDs whose pk is remembered, least recently used out."""
_log = logging.getLogger(__name__)


class IngestLimits(Protocol):
    """The settings ingestion reads (``tallyboard.settings.Settings`` provides them)."""

    @property
    def ingest_max_events(self) -> int: ...
    @property
    def live_window_days(self) -> int: ...
    @property
    def future_skew_seconds(self) -> int: ...
    @property
    def retention_days(self) -> int: ...


class IngestService:
    def __init__(
        self,
        database: Database,
        store: EventStore,
        writer: RollupWriter,
        clock: Clock,
        metrics: Metrics,
        limits: IngestLimits,
    ) -> None:
        self._db = database
        self._store = store
        self._writer = writer
        self._clock = clock
        self._metrics = metrics
        self._max_events = limits.ingest_max_events
        self._live_days = limits.live_window_days
        self._skew = limits.future_skew_seconds
        self._retention_days = limits.retention_days
        # Organization UUID -> pk. Organizations are never renumbered, so hits never go
        # stale (no stamp, no time to live); a miss is always re-read from the database
        # (another process may have just created the organization), so unknown UUIDs
        # are not cached at all.
        self._org_pks: BoundedCache[str, int] = BoundedCache(_ORG_CACHE_LIMIT)

    def ingest(
        self,
        body: bytes,
        *,
        ndjson: bool,
        bound_org_pk: int | None,
        backfill: bool = False,
        actor: Actor | None = None,
    ) -> IngestResult:
        """Parse and ingest one request body (413 / 400 errors store nothing)."""
        raw = parse_events(body, ndjson=ndjson, max_events=self._max_events)
        return self.ingest_events(raw, bound_org_pk=bound_org_pk, backfill=backfill, actor=actor)

    def ingest_events(
        self,
        raw: Sequence[object],
        *,
        bound_org_pk: int | None,
        backfill: bool = False,
        actor: Actor | None = None,
    ) -> IngestResult:
        """Ingest parsed events. ``bound_org_pk``: the only organization allowed, if any.
        A backfill is audited (``actor``: the caller, else the operating-system user)."""
        started = time.perf_counter()
        now = self._clock.now()
        if backfill:
            window = Window.backfill(now, self._retention_days, self._skew)
        else:
            window = Window.live(now, self._live_days, self._skew)
        result = IngestResult()
        rejected = result.rejected
        validator = EventValidator()
        valid: list[Event] = []
        for index, item in enumerate(raw):
            outcome = validator.validate(item, index)
            if isinstance(outcome, Event):
                valid.append(outcome)
            else:
                rejected.append(outcome)
        candidates = self._admit(valid, bound_org_pk, window, rejected)
        if candidates:
            audit = None
            if backfill:
                who = actor or operating_system_actor()
                audit = BackfillAudit(who, len(raw), len(rejected))
            self._store_and_count(candidates, epoch_ms(now), result, audit)
        self._metrics.ingest_events.labels("accepted").inc(result.accepted)
        self._metrics.ingest_events.labels("duplicate").inc(result.duplicates)
        self._metrics.ingest_events.labels("rejected").inc(len(rejected))
        self._metrics.ingest_batches.labels("committed").inc()
        self._metrics.ingest_batch_seconds.observe(time.perf_counter() - started)
        return result

    def _admit(
        self,
        events: list[Event],
        bound_org_pk: int | None,
        window: Window,
        rejected: list[Rejection],
    ) -> list[Event]:
        """Events whose organization and time are acceptable, with ``org_pk`` set."""
        if not events:
            return []
        org_pks = self._resolve({event.organization for event in events})
        closed = self._closed_months(events)
        admitted: list[Event] = []
        for event in events:
            org_pk = org_pks.get(event.organization)
            if bound_org_pk is not None and org_pk != bound_org_pk:
                # Unknown or someone else's: the same answer, so a bound key cannot
                # probe which organizations exist.
                rejected.append(
                    Rejection(
                        event.index,
                        event.id,
                        RejectionCode.FORBIDDEN_ORGANIZATION,
                        "organization: this ingest key may only send events "
                        "for its own organization",
                    )
                )
            elif org_pk is None:
                rejected.append(
                    Rejection(
                        event.index,
                        event.id,
                        RejectionCode.UNKNOWN_ORGANIZATION,
                        f"organization: no organization has the UUID {event.organization}",
                    )
                )
            elif (problem := window.problem(event.time_ms)) is not None:
                rejected.append(
                    Rejection(event.index, event.id, RejectionCode.OUT_OF_WINDOW, problem)
                )
            elif closed and (month := format_ms(event.time_ms)[:7]) in closed:
                rejected.append(
                    Rejection(
                        event.index,
                        event.id,
                        RejectionCode.PERIOD_CLOSED,
                        f"time: {format_ms(event.time_ms)} falls in {month}, a closed month",
                    )
                )
            else:
                event.org_pk = org_pk
                admitted.append(event)
        return admitted

    def _closed_months(self, events: list[Event]) -> set[str]:
        """The closed months among the events' (only months before the current one can
        be closed, so a batch of this month's events reads nothing)."""
        start = epoch_ms(Month.of(self._clock.now().date()).start)
        older = {format_ms(e.time_ms)[:7] for e in events if e.time_ms < start}
        if not older:
            return set()
        with self._db.read() as conn:
            return closed_months_store.closed_among(conn, older)

    def _resolve(self, uuids: Collection[str]) -> dict[str, int]:
        known = self._org_pks
        found: dict[str, int] = {}
        missing: list[str] = []
        for uuid in uuids:
            pk = known.get(uuid)
            if pk is None:
                missing.append(uuid)
            else:
                found[uuid] = pk
        if missing:
            with self._db.read() as conn:
                refs = tenancy_store.orgs_by_uuid(conn, missing)
            for uuid, ref in refs.items():
                known.put(uuid, ref.pk)
                found[uuid] = ref.pk
        return found

    def _store_and_count(
        self,
        candidates: list[Event],
        received_at_ms: int,
        result: IngestResult,
        audit: BackfillAudit | None = None,
    ) -> None:
        first: dict[EventKey, Event] = {}
        for event in candidates:
            first.setdefault(event.key, event)
        unique = list(first.values())
        refused: dict[EventKey, str] = {}
        try:
            outcome = self._write(unique, received_at_ms, audit)
        except Exception as exc:
            if not self._db.dialect.refuses_content(exc):
                raise
            outcome, refused = self._write_within_ceiling(unique, received_at_ms, audit)
        # Committed. Classify every candidate against what the ledger now holds.
        inserted, existing = outcome.inserted, outcome.existing
        for event in candidates:
            key = event.key
            original = first[key]
            if key in refused:
                message = refused[key]
                if event is not original:
                    message = (
                        f"id: the event at index {original.index} of this request has the "
                        f"same id and was rejected ({message})"
                    )
                result.rejected.append(
                    Rejection(event.index, event.id, RejectionCode.INVALID_EVENT, message)
                )
                continue
            if key in inserted:
                if event is original:
                    result.accepted += 1
                    continue
                stored, where = original.digest, f"at index {original.index} of this request"
            else:
                stored, where = existing[key][0], "earlier"
            if event.digest == stored:
                result.duplicates += 1
            else:
                result.rejected.append(
                    Rejection(
                        event.index,
                        event.id,
                        RejectionCode.CONFLICT,
                        f"id: event {event.id!r} from source {event.source!r} was received "
                        f"{where} with a different payload; the first one stands",
                    )
                )

    def _write(
        self, events: list[Event], received_at_ms: int, audit: BackfillAudit | None = None
    ) -> InsertOutcome:
        """The hot path: the ledger, the rollups and the catalog in one transaction;
        raises when the database refuses what the batch holds (e.g. the ceiling)."""
        with self._store.transaction() as conn:
            outcome = self._store.insert(conn, events, received_at_ms)
            inserted = outcome.inserted
            new = [event for event in events if event.key in inserted]
            if new:
                deltas = usage_deltas(new)
                if not deltas.is_empty():
                    self._writer.apply(conn, deltas)
                facts = catalog_facts(new)
                if not facts.is_empty():
                    catalog_store.apply_facts(conn, self._db.dialect, facts, received_at_ms)
            if audit is not None:
                audit.record(conn, self._clock.now(), events, outcome)
        return outcome

    def _write_within_ceiling(
        self, events: list[Event], received_at_ms: int, audit: BackfillAudit | None = None
    ) -> tuple[InsertOutcome, dict[EventKey, str]]:
        """The batch again, in a new transaction, without the events the database
        refuses: those past the ceiling (``ingest/ceiling.py``), then any other one it
        refuses on its own (``storage/isolation.py``). Rejected events are removed from
        the ledger before the commit and count nowhere; the rest is stored as usual."""
        dialect = self._db.dialect
        try:
            with self._store.transaction() as conn:
                outcome = self._store.insert(conn, events, received_at_ms)
                new = [event for event in events if event.key in outcome.inserted]
                kept, refused = split_within_ceiling(conn, dialect, new)
                for event, exc in apply_isolating(
                    conn,
                    kept,
                    lambda part: self._writer.apply(conn, usage_deltas(part)),
                    dialect.refuses_content,
                ):
                    refused[event.key] = refusal_message(event, exc, dialect)
                    if not dialect.passes_ceiling(exc):
                        _log.warning(
                            "ingest: the database refused one event on its own",
                            extra={"org_pk": event.org_pk, "reason": refusal_reason(exc)},
                        )
                if refused:
                    self._store.forget(conn, refused)
                    kept = [event for event in kept if event.key not in refused]
                facts = catalog_facts(kept)
                if not facts.is_empty():
                    catalog_store.apply_facts(conn, dialect, facts, received_at_ms)
                if audit is not None:
                    audit.record(conn, self._clock.now(), events, outcome, len(refused))
        except Exception:
            # Savepoints released in a transaction that then failed may have taught
            # the writer operation names that were never committed.
            self._writer.forget_cached_names()
            raise
        outcome.inserted.difference_update(refused)
        if refused:
            _log.info(
                "ingest: events rejected for the ceiling of a monthly figure",
                extra={"rejected": len(refused), "org_pks": sorted({k[0] for k in refused})},
            )
        return outcome, refused
