"""``tallyboard verify``: every figure of the selected organization-months recomputed
from the ledger and compared with what is stored (section 11).

The ledger of a month is its raw events that are not void, its adjustments and what
every metering flush added; folded in batches, it costs memory per distinct figure,
never per row. A month older than the retention horizon may have lost part of its
ledger, so it is reported as not verifiable instead of compared.

``repair`` rewrites the differing figures, one transaction per organization-month,
after locking the month's totals (every writer adds to them first, so nothing else
writes that month meanwhile) and recomputing inside that transaction; the answer-reuse
versions are raised and the repair is audited. A repair killed half-way leaves every
month either repaired or untouched: running it again finishes the job. A repaired row
the ledger adds to is written even when its figures are 0 (a zero-credit run's row is
listed by ``topAgents``); the comparison itself reads a missing row as zeros, so a
zero row deleted outright is not reported (its figures do not differ).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.corrections import adjustment_deltas, event_from_payload
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_time import epoch_ms
from tallyboard.domain.figures import Figure, expected_figures, figure_name
from tallyboard.domain.periods import Month
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.stored_events import ledger_events
from tallyboard.domain.usage import ApiDimension
from tallyboard.storage import audit_store, figure_store, ledger_store, usage_totals, usage_versions
from tallyboard.storage.database import Database
from tallyboard.storage.event_store import EventStore

__all__ = ["Difference", "VerificationReport", "Verifier"]

_DAY_MS = 86_400_000


class VerifyLimits(Protocol):
    @property
    def retention_days(self) -> int: ...
    @property
    def operation_name_cap(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Difference:
    organization: str
    """The organization's short id (as ``--organization`` takes it)."""
    month: str
    figure: str
    expected: int
    stored: int


@dataclass
class VerificationReport:
    differences: list[Difference] = field(default_factory=list)
    unverifiable: list[tuple[str, str]] = field(default_factory=list)
    repaired: int = 0
    """Organization-months rewritten by ``repair``."""

    def as_json(self) -> dict[str, Any]:
        return {
            "differences": [
                {
                    "organization": d.organization,
                    "month": d.month,
                    "figure": d.figure,
                    "expected": d.expected,
                    "stored": d.stored,
                }
                for d in self.differences
            ],
            "unverifiable": [{"organization": o, "month": m} for o, m in self.unverifiable],
        }


Target = tuple[int, str, str, str]
"""(organization pk, short id, uuid, month)."""


class Verifier:
    def __init__(
        self, database: Database, events: EventStore, clock: Clock, limits: VerifyLimits
    ) -> None:
        self._db = database
        self._events = events
        self._clock = clock
        self._limits = limits

    def targets(self, organization: str | None, month: str | None) -> list[Target]:
        """The organization-months to verify, or :class:`InvalidInputError`."""
        problems: list[Problem] = []
        if month is not None:
            try:
                month = str(Month.parse(month))
            except ValueError as exc:
                problems.append(Problem("month", str(exc)))
        with self._db.read() as conn:
            orgs = figure_store.organizations(conn, organization)
            if organization is not None and not orgs:
                problems.append(
                    Problem("organization", f"no organization has the id {organization!r}")
                )
            if problems:
                raise InvalidInputError(problems)
            return [
                (pk, org_id, org_uuid, m)
                for pk, org_id, org_uuid in orgs
                for m in ([month] if month else figure_store.months_with_figures(conn, pk))
            ]

    def verify(
        self,
        targets: list[Target],
        *,
        repair: bool = False,
        actor: Actor | None = None,
        progress: Callable[[], None] | None = None,
    ) -> VerificationReport:
        report = VerificationReport()
        horizon = epoch_ms(self._clock.now()) - self._limits.retention_days * _DAY_MS
        for target in targets:
            _, org_id, _, month = target
            if epoch_ms(Month.parse(month).start) < horizon:
                report.unverifiable.append((org_id, month))
            elif repair:
                self._repair(target, actor or operating_system_actor(), report)
            else:
                with self._db.read() as conn:
                    report.differences += self._compare(conn, target)[0]
            if progress is not None:
                progress()
        return report

    def _compare(
        self, conn: Connection, target: Target
    ) -> tuple[list[Difference], dict[Figure, int], list[Figure]]:
        org_pk, org_id, _, month = target
        stored = figure_store.read_figures(conn, org_pk, month)
        admitted = {
            str(key[2])
            for (name, key, _) in stored
            if name == "api_calls_monthly" and key[1] == int(ApiDimension.OPERATION_NAME)
        }
        deltas = _ledger(conn, org_pk, Month.parse(month))
        expected = expected_figures(deltas, month, self._limits.operation_name_cap, admitted)
        differing = sorted(
            (f for f in set(stored) | set(expected) if stored.get(f, 0) != expected.get(f, 0)),
            key=figure_name,
        )
        differences = [
            Difference(org_id, month, figure_name(f), expected.get(f, 0), stored.get(f, 0))
            for f in differing
        ]
        return differences, expected, differing

    def _repair(self, target: Target, actor: Actor, report: VerificationReport) -> None:
        org_pk, _, org_uuid, month = target
        with self._events.transaction() as conn:
            usage_totals.lock_and_read(conn, self._db.dialect, [(org_pk, month)])
            differences, expected, differing = self._compare(conn, target)
            if not differences:
                return
            figure_store.write_rows(conn, org_pk, expected, differing)
            for stream in usage_versions.Stream:
                usage_versions.bump(conn, self._db.dialect, stream, [org_pk])
            details = {"month": month, "figures": len(differences)}
            now = self._clock.now()
            audit_store.append(conn, now, actor, "verify.repair", details, organization=org_uuid)
        report.differences += differences
        report.repaired += 1


def _ledger(conn: Connection, org_pk: int, month: Month) -> RollupDeltas:
    """The month's ledger of one organization, folded (batches of rows at a time)."""
    start, end = epoch_ms(month.start), epoch_ms(month.end_exclusive)
    deltas = RollupDeltas()
    for payloads in ledger_store.event_payloads(conn, org_pk, start, end):
        deltas.merge(usage_deltas(ledger_events(org_pk, payloads)))
    for adjustment_id, payload in ledger_store.adjustment_payloads(conn, org_pk, start, end):
        event = event_from_payload(org_pk, "", adjustment_id, "", payload)
        deltas.merge(adjustment_deltas(event))
    first, last = month.first_day.isoformat(), month.last_day.isoformat()
    for day, rows in ledger_store.metering_calls(conn, org_pk, first, last):
        when = date.fromisoformat(day)
        for operation, token, calls in rows:
            deltas.add_api_calls((org_pk, when, str(operation), str(token)), int(str(calls)))
    return deltas
