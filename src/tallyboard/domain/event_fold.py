"""The fold: what newly stored events add to the rollups.

Pure; used by ingestion (and its ceiling split) inside the write transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from tallyboard.domain.events import ApiCall, Event, JobRun, TaskRun
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import AiResource

__all__ = ["usage_deltas"]

_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


def usage_deltas(events: Iterable[Event]) -> RollupDeltas:
    """What newly stored events add to the rollups (duplicates must not be passed)."""
    deltas = RollupDeltas()
    days: dict[int, date] = {}
    for event in events:
        day_number = event.time_ms // _DAY_MS
        day = days.get(day_number)
        if day is None:
            day = days[day_number] = date.fromordinal(_EPOCH_ORDINAL + day_number)
        usage = event.usage
        if isinstance(usage, ApiCall):
            calls = usage.billable_calls
            if calls:
                deltas.add_api_calls(
                    (event.org_pk, day, usage.operation_name, usage.token_name), calls
                )
        elif isinstance(usage, TaskRun):
            deltas.add_flow_run(
                (event.org_pk, day, usage.flow_id), usage.tasks, event.time_ms // 1000
            )
        elif isinstance(usage, JobRun):
            deltas.add_jobs((event.org_pk, day, usage.automation_id), usage.jobs, event.time_ms)
        else:
            # Assistants are never listed individually: one row per day for all of them.
            agent = (usage.agent_id or "") if usage.resource is AiResource.AI_AUTOMATION else ""
            deltas.add_credits((event.org_pk, day, usage.resource, agent), usage.micro_credits)
    return deltas
