"""Applies folded usage (:class:`RollupDeltas`) to the rollup tables.

Both write paths end here: the self-metering flusher and event ingestion. Everything
runs inside the caller's transaction, so rollups commit atomically with whatever
makes the write idempotent (a flush id, or the raw events).

Every write first adds to the organizations' monthly totals (``storage/usage_totals.py``),
whose CHECK constraints keep every figure within the ceiling (decision 0012): a write
past it raises, and the caller sets aside what caused it (a metering key, an event).

Operation names are client-chosen text, so their cardinality is capped per
organization per month: the first ``operation_name_cap`` distinct names of a month
are admitted, later new names count under ``"Other"`` (totals stay exact). Admission
is decided under a per-(organization, month) lock so concurrent writers in several
processes cannot overshoot the cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.periods import Month
from tallyboard.domain.rollup import MonthKey, RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, OTHER, ApiDimension
from tallyboard.storage import tables as t
from tallyboard.storage import tables_automation, usage_totals, usage_versions
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.dialect import StorageDialect

__all__ = ["RollupWriter"]

_ALWAYS_ADMITTED = frozenset({NOT_SPECIFIED, OTHER})
_CACHE_LIMIT = 200_000
"""Operation names remembered admitted or refused, least recently used out."""
_IN_CHUNK = 500


def _month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


class RollupWriter:
    def __init__(
        self,
        dialect: StorageDialect,
        operation_name_cap: int,
        detector: AlertDetector | None = None,
    ) -> None:
        if operation_name_cap < 1:
            raise ValueError("operation_name_cap must be at least 1")
        self._dialect = dialect
        self._cap = operation_name_cap
        self._detector = detector
        # (org, month, name) -> True when seen admitted in the database, False when
        # seen refused while the month was already full. Both are permanent within a
        # month (the month is in the key), so no stamp or time to live; only committed
        # rows are cached, so a rolled-back transaction cannot poison the cache.
        # Client-chosen names must not grow memory without bound: the cache is only an
        # optimisation, so evicting from it is always safe.
        self._names: BoundedCache[tuple[int, str, str], bool] = BoundedCache(_CACHE_LIMIT)

    def forget_cached_names(self) -> None:
        """Drop what the writer remembers of admitted and refused names: always safe,
        and required after a transaction that failed once savepoints inside it had been
        released (their names were seen, but never committed)."""
        self._names.clear()

    def apply(self, conn: Connection, deltas: RollupDeltas) -> None:
        """Add ``deltas`` to every rollup; raises ``FigureCeilingExceeded`` (or the
        database's CHECK violation) when a monthly total would pass the ceiling."""
        totals = self._add_totals(conn, deltas)
        if deltas.api_calls:
            self._apply_api_calls(conn, deltas)
        if deltas.flow_runs:
            self._apply_flow_runs(conn, deltas)
        if deltas.ai_credits:
            self._apply_ai_credits(conn, deltas)
        if deltas.automation_jobs:
            self._apply_automation_jobs(conn, deltas)
        if totals and self._detector is not None:
            # Allowance alerts this write made true, in its transaction (spec §10).
            self._detector.after_write(conn, totals)

    def _add_totals(self, conn: Connection, deltas: RollupDeltas) -> dict[MonthKey, list[int]]:
        """The monthly totals first: the ceiling's guard, and one lock order."""
        totals = deltas.month_totals()
        if totals:
            usage_totals.add(conn, self._dialect, totals)
        return totals

    # ------------------------------------------------------------ API calls

    def _apply_api_calls(self, conn: Connection, deltas: RollupDeltas) -> None:
        names = self._admit_operation_names(conn, deltas)
        daily: dict[tuple[int, str, int, str], int] = defaultdict(int)
        monthly: dict[tuple[int, str, int, str], int] = defaultdict(int)
        for (org, day, operation, token), calls in deltas.api_calls.items():
            if calls == 0:
                continue
            day_label = day.isoformat()
            month_label = day_label[:7]
            operation = names.get((org, month_label, operation), operation)
            for dimension, value in (
                (ApiDimension.TOTAL, ""),
                (ApiDimension.OPERATION_NAME, operation),
                (ApiDimension.TOKEN, token),
            ):
                daily[(org, day_label, int(dimension), value)] += calls
                monthly[(org, month_label, int(dimension), value)] += calls
        keys = ("org_pk", "day", "dimension", "value")
        self._dialect.upsert_add(conn, t.api_calls_daily, keys, ("calls",), _rows(daily))
        keys = ("org_pk", "month", "dimension", "value")
        self._dialect.upsert_add(conn, t.api_calls_monthly, keys, ("calls",), _rows(monthly))
        changed = {org for org, _, _, _ in monthly}
        usage_versions.bump(conn, self._dialect, usage_versions.Stream.API_CALLS, changed)

    def _admit_operation_names(
        self, conn: Connection, deltas: RollupDeltas
    ) -> dict[tuple[int, str, str], str]:
        """Map (org, month, name) -> name or "Other" for names not yet known admitted."""
        unknown: dict[tuple[int, str], set[str]] = defaultdict(set)
        refused: dict[tuple[int, str], set[str]] = defaultdict(set)
        for org, day, operation, _token in deltas.api_calls:
            if operation in _ALWAYS_ADMITTED:
                continue
            month = _month_label(day)
            known = self._names.get((org, month, operation))
            if known is not True:
                unknown[(org, month)].add(operation)
                if known is False:
                    refused[(org, month)].add(operation)
        mapping: dict[tuple[int, str, str], str] = {}
        for (org, month), candidates in sorted(unknown.items()):
            if candidates <= refused[(org, month)]:
                mapping.update({(org, month, name): OTHER for name in candidates})
                continue
            self._dialect.lock(conn, org, Month.parse(month).index)
            present = self._present_names(conn, org, month, candidates)
            for name in present:
                self._names.put((org, month, name), True)
            free = self._cap - self._count_names(conn, org, month)
            for name in sorted(candidates - present):
                if free > 0:
                    free -= 1  # admitted by this write; cached once seen committed
                else:
                    mapping[(org, month, name)] = OTHER
                    self._names.put((org, month, name), False)
        return mapping

    def _present_names(
        self, conn: Connection, org: int, month: str, names: Iterable[str]
    ) -> set[str]:
        table = t.api_calls_monthly
        ordered = sorted(names)
        present: set[str] = set()
        for start in range(0, len(ordered), _IN_CHUNK):
            chunk = ordered[start : start + _IN_CHUNK]
            query = select(table.c.value).where(
                table.c.org_pk == org,
                table.c.month == month,
                table.c.dimension == int(ApiDimension.OPERATION_NAME),
                table.c.value.in_(chunk),
            )
            present.update(conn.execute(query).scalars())
        return present

    def _count_names(self, conn: Connection, org: int, month: str) -> int:
        table = t.api_calls_monthly
        query = select(func.count()).where(
            table.c.org_pk == org,
            table.c.month == month,
            table.c.dimension == int(ApiDimension.OPERATION_NAME),
            table.c.value.not_in(sorted(_ALWAYS_ADMITTED)),
        )
        return int(conn.execute(query).scalar_one())

    # ------------------------------------------------------------ integrations

    def _apply_flow_runs(self, conn: Connection, deltas: RollupDeltas) -> None:
        daily: dict[tuple[int, str, str], list[int]] = {}
        monthly: dict[tuple[int, str, str], list[int]] = {}
        totals: dict[tuple[int, str], list[int]] = {}
        for (org, day, flow_id), run in deltas.flow_runs.items():
            day_label = day.isoformat()
            for bucket, key in (
                (daily, (org, day_label, flow_id)),
                (monthly, (org, day_label[:7], flow_id)),
            ):
                row = bucket.setdefault(key, [0, 0, 0])
                row[0] += run.tasks
                row[1] += run.runs
                row[2] = max(row[2], run.last_run_at)
            total = totals.setdefault((org, day_label), [0, 0])
            total[0] += run.tasks
            total[1] += run.runs
        adds, maxes = ("tasks", "runs"), ("last_run_at",)
        for table, bucket_column, folded in (
            (t.flow_usage_daily, "day", daily),
            (t.flow_usage_monthly, "month", monthly),
        ):
            rows = [(*key, *values) for key, values in sorted(folded.items())]
            keys = ("org_pk", bucket_column, "flow_id")
            self._dialect.upsert_add(conn, table, keys, adds, rows, maxes)
        rows = [(*key, *values) for key, values in sorted(totals.items())]
        self._dialect.upsert_add(conn, t.task_usage_daily, ("org_pk", "day"), adds, rows)
        changed = {org for org, _ in totals}
        usage_versions.bump(conn, self._dialect, usage_versions.Stream.INTEGRATIONS, changed)

    # ------------------------------------------------------------ AI credits

    def _apply_ai_credits(self, conn: Connection, deltas: RollupDeltas) -> None:
        daily: dict[tuple[int, str, int, str], int] = defaultdict(int)
        monthly: dict[tuple[int, str, int, str], int] = defaultdict(int)
        for (org, day, resource, agent_id), micro in deltas.ai_credits.items():
            day_label = day.isoformat()
            daily[(org, day_label, int(resource), agent_id)] += micro
            monthly[(org, day_label[:7], int(resource), agent_id)] += micro
        keys = ("org_pk", "day", "resource", "agent_id")
        self._dialect.upsert_add(conn, t.ai_credits_daily, keys, ("credits",), _rows(daily))
        keys = ("org_pk", "month", "resource", "agent_id")
        self._dialect.upsert_add(conn, t.ai_credits_monthly, keys, ("credits",), _rows(monthly))
        changed = {org for org, _, _, _ in monthly}
        usage_versions.bump(conn, self._dialect, usage_versions.Stream.AI_CREDITS, changed)

    # ------------------------------------------------------------ automation jobs

    def _apply_automation_jobs(self, conn: Connection, deltas: RollupDeltas) -> None:
        daily: dict[tuple[int, str, str], list[int]] = {}
        monthly: dict[tuple[int, str, str], list[int]] = {}
        for (org, day, automation_id), job in deltas.automation_jobs.items():
            day_label = day.isoformat()
            for bucket, key in (
                (daily, (org, day_label, automation_id)),
                (monthly, (org, day_label[:7], automation_id)),
            ):
                row = bucket.setdefault(key, [0, 0])
                row[0] += job.jobs
                row[1] = max(row[1], job.last_job_at)
        for table, bucket_column, folded in (
            (tables_automation.automation_jobs_daily, "day", daily),
            (tables_automation.automation_jobs_monthly, "month", monthly),
        ):
            rows = [(*key, *values) for key, values in sorted(folded.items())]
            keys = ("org_pk", bucket_column, "automation_id")
            self._dialect.upsert_add(conn, table, keys, ("jobs",), rows, ("last_job_at",))
        changed = {org for org, _, _ in monthly}
        usage_versions.bump(conn, self._dialect, usage_versions.Stream.AUTOMATIONS, changed)


def _rows(folded: dict[tuple[int, str, int, str], int]) -> list[tuple[int, str, int, str, int]]:
    return [(*key, value) for key, value in sorted(folded.items())]
