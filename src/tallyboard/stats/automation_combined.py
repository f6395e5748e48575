"""``automationsUsageDetailsCombined`` (spec §9): jobs across 1 to 25 organizations.

Each organization's figures for a period -- its jobs, its latest job's time, its jobs
per event pipe and its top automations -- are computed alone and kept in the
per-organization cache (kind ``automations``, 60 seconds, shared across combinations
of organizations, decision 0007). The combined lists are then cut from the
organizations' own lists: any row of the combined top 10 automations (usage
descending, then organization uuid, then automation id) is in its organization's top
10, and any row of the combined 50 pipes (usage descending, then organization uuid,
then pipe uuid) in its organization's top 50 -- the combined order restricted to one
organization is that organization's order. Only entries with usage > 0 are listed.

Jobs per event pipe are the organization's jobs per automation over the period's
months (``automation_jobs_monthly``), grouped by each automation's current event pipe.
The organizations that miss the cache are read together: their jobs in one statement
(``storage/combined_entry_reader.py``) and their prepared catalogs' stamps in another
(``stats/prepared_catalog.py``, shared with the listings), and a row is built only for
each organization's top 10 (``_prepared_figures``).
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tallyboard.cache.per_org import Codec, PerOrgCache
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import PeriodWindow
from tallyboard.domain.ranking import top
from tallyboard.observability.metrics import Metrics
from tallyboard.stats.entry_listing import EntryRow, Pipe
from tallyboard.stats.prepared_catalog import Prepared, PreparedCatalogs, used_rows
from tallyboard.stats.scope import CombinedScope, per_organization
from tallyboard.storage import combined_entry_reader as many
from tallyboard.storage.database import Database
from tallyboard.storage.usage_entry_reader import EntryKind

__all__ = [
    "CACHE_KIND",
    "AutomationStatistics",
    "CombinedAutomations",
    "OrgAutomations",
    "PipeUsage",
]

CACHE_KIND = "automations"
TOP_AUTOMATIONS = 10
TOP_PIPES = 50


@dataclass(frozen=True, slots=True)
class PipeUsage:
    pipe: Pipe
    usage: int
    last_job_at: int


@dataclass(frozen=True, slots=True)
class OrgAutomations:
    """One organization's automation figures for a period: what the cache holds."""

    usage: int
    last_job_at: int | None
    pipes: tuple[PipeUsage, ...]
    """At most ``TOP_PIPES``: usage descending, then pipe uuid."""
    top: tuple[EntryRow, ...]
    """At most ``TOP_AUTOMATIONS``: usage descending, then automation id."""

    def to_json(self) -> dict[str, Any]:
        return {
            "usage": self.usage,
            "last": self.last_job_at,
            "pipes": [
                [p.pipe.uuid, p.pipe.name, p.pipe.icon, p.pipe.color, p.usage, p.last_job_at]
                for p in self.pipes
            ],
            "top": [_row_json(row) for row in self.top],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> OrgAutomations:
        return cls(
            usage=int(data["usage"]),
            last_job_at=data["last"],
            pipes=tuple(PipeUsage(Pipe(*p[:4]), int(p[4]), int(p[5])) for p in data["pipes"]),
            top=tuple(_row_load(row) for row in data["top"]),
        )


def _pipe_json(pipe: Pipe | None) -> list[Any] | None:
    return None if pipe is None else [pipe.uuid, pipe.name, pipe.icon, pipe.color]


def _row_json(row: EntryRow) -> list[Any]:
    return [
        row.id,
        row.name,
        row.usage,
        row.action,
        row.event,
        row.status,
        _pipe_json(row.action_pipe),
        _pipe_json(row.event_pipe),
        row.created_at,
        None if row.created_by is None else list(row.created_by),
        row.updated_at,
        list(row.tags),
    ]


def _row_load(data: Sequence[Any]) -> EntryRow:
    id_, name, usage, action, event, status, a_pipe, e_pipe, created, by, updated, tags = data
    return EntryRow(
        id=id_,
        name=name,
        usage=int(usage),
        action=action,
        event=event,
        status=status,
        action_pipe=None if a_pipe is None else Pipe(*a_pipe),
        event_pipe=None if e_pipe is None else Pipe(*e_pipe),
        created_at=created,
        created_by=None if by is None else (by[0], by[1]),
        updated_at=updated,
        tags=tuple(tags),
    )


_CODEC: Codec[OrgAutomations] = Codec(dump=OrgAutomations.to_json, load=OrgAutomations.from_json)


@dataclass(frozen=True, slots=True)
class CombinedAutomations:
    window: PeriodWindow
    rows: tuple[tuple[OrgRef, OrgAutomations], ...]
    """Per permitted organization, in the order of the input list."""
    partial: bool
    pipes: tuple[tuple[OrgRef, PipeUsage], ...]
    top: tuple[tuple[OrgRef, EntryRow], ...]

    @property
    def usage(self) -> int:
        return sum(figures.usage for _, figures in self.rows)


class AutomationStatistics:
    def __init__(
        self,
        database: Database,
        cache: PerOrgCache,
        metrics: Metrics,
        catalogs: PreparedCatalogs,
    ) -> None:
        self._db = database
        self._cache = cache
        self._metrics = metrics
        self._catalogs = catalogs
        """The automations listing's prepared catalogs (``stats/prepared_catalog.py``):
        with them a miss reads the jobs and the catalog stamps, not the catalogs."""

    def compute(self, orgs: Sequence[OrgRef], window: PeriodWindow) -> dict[int, OrgAutomations]:
        """Every organization's figures from the monthly jobs and its prepared catalog."""
        months = [str(m) for m in window.months]
        pks = [org.pk for org in orgs]
        with self._db.read() as conn:
            jobs = many.monthly_jobs(conn, pks, months)
            prepared = self._catalogs.get_many(conn, pks, EntryKind.AUTOMATIONS)
        return {pk: _prepared_figures(prepared[pk], jobs[pk]) for pk in pks}

    def combined(
        self, scope: CombinedScope, window: PeriodWindow, *, label: str
    ) -> CombinedAutomations:
        counter = self._metrics.stats_queries.labels(label)

        def compute(missing: Sequence[OrgRef]) -> dict[int, OrgAutomations]:
            computed = self.compute(missing, window)
            counter.inc(len(missing))
            return computed

        rows = per_organization(self._cache, CACHE_KIND, scope, window, compute, _CODEC)
        pipes = top(
            ((org, p) for org, figures in rows for p in figures.pipes),
            TOP_PIPES,
            metric=lambda item: item[1].usage,
            labels=lambda item: (item[0].uuid, item[1].pipe.uuid),
        )
        best = top(
            ((org, row) for org, figures in rows for row in figures.top),
            TOP_AUTOMATIONS,
            metric=lambda item: item[1].usage,
            labels=lambda item: (item[0].uuid, item[1].id),
        )
        return CombinedAutomations(window, rows, scope.partial, tuple(pipes), tuple(best))


def _prepared_figures(prepared: Prepared, jobs: Mapping[str, tuple[int, int]]) -> OrgAutomations:
    """The figures of every automation that ran, without a row for each: a large
    organization has thousands, and only its top 10 are listed, so the
    pipes are summed from the prepared rows' event pipes and the top 10 picked by
    (usage descending, id) before their rows are built."""
    index, rows = prepared.index, prepared.rows
    by_pipe: dict[str, list[Any]] = {}
    total, latest = 0, None
    for entry, (usage, last) in jobs.items():
        # One pass: totals, the latest job and the pipes (no list per automation).
        total += usage
        if latest is None or last > latest:
            latest = last
        if usage <= 0:
            continue
        at = index.get(entry)
        pipe = None if at is None else rows[at].event_pipe
        if pipe is None:  # an entry known only from its jobs has no pipe either
            continue
        found = by_pipe.get(pipe.uuid)
        if found is None:
            found = by_pipe[pipe.uuid] = [pipe, 0, 0]
        found[1] += usage
        if last > found[2]:
            found[2] = last
    pipes = top(
        (PipeUsage(p, usage, last) for p, usage, last in by_pipe.values()),
        TOP_PIPES,
        metric=lambda p: p.usage,
        labels=lambda p: (p.pipe.uuid,),
    )
    ran = ((-usage, entry) for entry, (usage, _) in jobs.items() if usage > 0)
    best = heapq.nsmallest(TOP_AUTOMATIONS, ran)
    listed = used_rows(prepared, {entry: -negated for negated, entry in best})
    listed.sort(key=lambda row: (-row.usage, row.id))
    return OrgAutomations(
        usage=total,
        last_job_at=latest,
        pipes=tuple(pipes),
        top=tuple(listed),
    )
