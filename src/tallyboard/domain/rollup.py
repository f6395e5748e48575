"""Rollup deltas: usage folded in memory before it touches storage.

Both write paths produce a :class:`RollupDeltas` (self-metering by accumulating
requests, ingestion by folding a validated batch) and hand it to one storage writer,
which expands it into the daily and monthly rollup tables. Folding first means a flush
or a batch costs one upsert per distinct key, however many calls it represents.

Keys always start with the organization's internal key: the tenant is part of every
rollup key, never implied.

**The ceiling.** Every figure an organization accumulates in a calendar month -- API
calls, integration tasks, runs, micro-credits -- is bounded by :data:`FIGURE_CEILING`
(decision 0012). Each stored row (a day, a month, an operation, a token, a flow, an
agent) holds part of that monthly total, so bounding the totals bounds every row, and
every answer sums at most 3 months of at most 25 organizations: 75 x 10^14 stays below
2^53, the largest integer the GraphQL ``Int`` scalar and a float carry exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from tallyboard.domain.usage import AiResource

__all__ = [
    "FIGURES",
    "FIGURE_CEILING",
    "ApiCallKey",
    "CeilingGuard",
    "CreditKey",
    "FigureCeilingExceeded",
    "FlowKey",
    "FlowRunDelta",
    "JobDelta",
    "JobKey",
    "MonthKey",
    "RollupDeltas",
]

FIGURE_CEILING = 10**14
"""The most one organization's monthly total of any figure may hold: 10^14 calls, tasks
or runs (38 million a second for a whole month), 10^14 micro-credits (10^8 credits)."""

FIGURES = ("calls", "tasks", "runs", "credits", "jobs")
"""The additive figures of a month, in the order :meth:`RollupDeltas.month_totals`
lists them (``credits`` in micro-credits)."""

MonthKey = tuple[int, str]
"""(organization pk, ``YYYY-MM``)."""


class FigureCeilingExceeded(OverflowError):
    """A write would take an organization's monthly total past :data:`FIGURE_CEILING`.

    An ``OverflowError``, so storage classifies it like any numeric overflow: refused
    for the values it carries, never worth retrying as is."""


ApiCallKey = tuple[int, date, str, str]
"""(organization pk, UTC day, operation name, token label)."""

FlowKey = tuple[int, date, str]
"""(organization pk, UTC day, flow id)."""

CreditKey = tuple[int, date, AiResource, str]
"""(organization pk, UTC day, resource, agent id or "" for assistants)."""

JobKey = tuple[int, date, str]
"""(organization pk, UTC day, automation id)."""


@dataclass(slots=True)
class FlowRunDelta:
    tasks: int = 0
    runs: int = 0
    last_run_at: int = 0
    """Latest run time, epoch seconds (a max, not a sum)."""


@dataclass(slots=True)
class JobDelta:
    jobs: int = 0
    last_job_at: int = 0
    """Latest job time, epoch milliseconds (a max, not a sum)."""


def _zeros() -> list[int]:
    return [0] * len(FIGURES)


@dataclass(slots=True)
class RollupDeltas:
    api_calls: dict[ApiCallKey, int] = field(default_factory=dict)
    flow_runs: dict[FlowKey, FlowRunDelta] = field(default_factory=dict)
    ai_credits: dict[CreditKey, int] = field(default_factory=dict)
    """Micro-credits."""
    automation_jobs: dict[JobKey, JobDelta] = field(default_factory=dict)

    def add_jobs(self, key: JobKey, jobs: int, at_ms: int) -> None:
        delta = self.automation_jobs.get(key)
        if delta is None:
            self.automation_jobs[key] = JobDelta(jobs, at_ms)
        else:
            delta.jobs += jobs
            delta.last_job_at = max(delta.last_job_at, at_ms)

    def add_api_calls(self, key: ApiCallKey, calls: int) -> None:
        self.api_calls[key] = self.api_calls.get(key, 0) + calls

    def add_flow_run(self, key: FlowKey, tasks: int, at: int) -> None:
        delta = self.flow_runs.get(key)
        if delta is None:
            self.flow_runs[key] = FlowRunDelta(tasks, 1, at)
        else:
            delta.tasks += tasks
            delta.runs += 1
            if at > delta.last_run_at:
                delta.last_run_at = at

    def add_credits(self, key: CreditKey, micro: int) -> None:
        self.ai_credits[key] = self.ai_credits.get(key, 0) + micro

    def merge(self, other: RollupDeltas) -> None:
        for key, calls in other.api_calls.items():
            self.add_api_calls(key, calls)
        for fkey, run in other.flow_runs.items():
            mine = self.flow_runs.get(fkey)
            if mine is None:
                self.flow_runs[fkey] = FlowRunDelta(run.tasks, run.runs, run.last_run_at)
            else:
                mine.tasks += run.tasks
                mine.runs += run.runs
                mine.last_run_at = max(mine.last_run_at, run.last_run_at)
        for ckey, micro in other.ai_credits.items():
            self.add_credits(ckey, micro)
        for jkey, job in other.automation_jobs.items():
            self.add_jobs(jkey, job.jobs, job.last_job_at)

    def __len__(self) -> int:
        parts = (self.api_calls, self.flow_runs, self.ai_credits, self.automation_jobs)
        return sum(len(part) for part in parts)

    def is_empty(self) -> bool:
        return not (self.api_calls or self.flow_runs or self.ai_credits or self.automation_jobs)

    def organizations(self) -> set[int]:
        orgs = {k[0] for k in self.api_calls}
        orgs.update(k[0] for k in self.flow_runs)
        orgs.update(k[0] for k in self.ai_credits)
        orgs.update(k[0] for k in self.automation_jobs)
        return orgs

    def month_totals(self) -> dict[MonthKey, list[int]]:
        """What these deltas add to each organization's month, per :data:`FIGURES`.

        Every (organization, month) a key of the deltas falls in is listed, even when
        it adds nothing, so a writer that locks these totals first locks every month
        it then writes (one lock order for every writer)."""
        totals: dict[MonthKey, list[int]] = {}
        months: dict[date, str] = {}

        def month_of(org: int, day: date) -> list[int]:
            label = months.get(day)
            if label is None:
                label = months[day] = f"{day.year:04d}-{day.month:02d}"
            row = totals.get((org, label))
            if row is None:
                row = totals[(org, label)] = _zeros()
            return row

        for (org, day, _, _), calls in self.api_calls.items():
            month_of(org, day)[0] += calls
        for (org, day, _), run in self.flow_runs.items():
            row = month_of(org, day)
            row[1] += run.tasks
            row[2] += run.runs
        for (org, day, _, _), micro in self.ai_credits.items():
            month_of(org, day)[3] += micro
        for (org, day, _), job in self.automation_jobs.items():
            month_of(org, day)[4] += job.jobs
        return totals


class CeilingGuard:
    """Admits additions to monthly totals in order, as long as every total stays within
    :data:`FIGURE_CEILING`: what a batch refused for the ceiling keeps (its events
    in their order, each accepted while it fits)."""

    __slots__ = ("_totals",)

    def __init__(self, current: Mapping[MonthKey, Sequence[int]]) -> None:
        self._totals = {key: list(values) for key, values in current.items()}

    def admit(self, additions: Mapping[MonthKey, Sequence[int]]) -> tuple[MonthKey, str] | None:
        """Add ``additions`` and return None when every total stays within the ceiling;
        otherwise change nothing and return the first (month, figure) it would pass."""
        for key, values in additions.items():
            current = self._totals.get(key, _zeros())
            for index, value in enumerate(values):
                if current[index] + value > FIGURE_CEILING:
                    return key, FIGURES[index]
        for key, values in additions.items():
            row = self._totals.setdefault(key, _zeros())
            for index, value in enumerate(values):
                row[index] += value
        return None

    def totals(self) -> dict[MonthKey, list[int]]:
        return {key: list(values) for key, values in self._totals.items()}
