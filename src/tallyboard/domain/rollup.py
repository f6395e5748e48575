"""Rollup deltas: usage folded in memory before it touches storage.

Both write paths produce a :class:`RollupDeltas` (self-metering by accumulating
requests, ingestion by folding a validated batch) and hand it to one storage writer,
which expands it into the daily and monthly rollup tables. Folding first means a flush
or a batch costs one upsert per distinct key, however many calls it represents.

Keys always start with the organization's internal key: the tenant is part of every
rollup key, never implied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tallyboard.domain.usage import AiResource

__all__ = ["ApiCallKey", "CreditKey", "FlowKey", "FlowRunDelta", "RollupDeltas"]

ApiCallKey = tuple[int, date, str, str]
"""(organization pk, UTC day, operation name, token label)."""

FlowKey = tuple[int, date, str]
"""(organization pk, UTC day, flow id)."""

CreditKey = tuple[int, date, AiResource, str]
"""(organization pk, UTC day, resource, agent id or "" for assistants)."""


@dataclass(slots=True)
class FlowRunDelta:
    tasks: int = 0
    runs: int = 0
    last_run_at: int = 0
    """Latest run time, epoch seconds (a max, not a sum)."""


@dataclass(slots=True)
class RollupDeltas:
    api_calls: dict[ApiCallKey, int] = field(default_factory=dict)
    flow_runs: dict[FlowKey, FlowRunDelta] = field(default_factory=dict)
    ai_credits: dict[CreditKey, int] = field(default_factory=dict)
    """Micro-credits."""

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

    def __len__(self) -> int:
        return len(self.api_calls) + len(self.flow_runs) + len(self.ai_credits)

    def is_empty(self) -> bool:
        return not (self.api_calls or self.flow_runs or self.ai_credits)

    def organizations(self) -> set[int]:
        orgs = {k[0] for k in self.api_calls}
        orgs.update(k[0] for k in self.flow_runs)
        orgs.update(k[0] for k in self.ai_credits)
        return orgs
