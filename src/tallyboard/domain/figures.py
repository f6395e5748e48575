"""Folded usage as the stored figures it must equal (``tallyboard verify``).

Pure: the same expansion the rollup writer performs (a day and a month row per
dimension, the flows' runs and last run, the automations' jobs and last job, the
monthly totals), keyed as
``storage.figure_store`` reads the tables, so the ledger's fold and the stored rows
compare figure by figure. Operation names past the month's cap count under ``Other``,
as the writer admitted them: ``admitted`` are the names that have their own row.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from tallyboard.domain.rollup import FIGURES, RollupDeltas
from tallyboard.domain.usage import NOT_SPECIFIED, OTHER, AiResource, ApiDimension

__all__ = ["Figure", "expected_figures", "figure_name"]

Figure = tuple[str, tuple[object, ...], str]
_ALWAYS = frozenset({NOT_SPECIFIED, OTHER})
_DIMENSIONS = {0: "total", 1: "operation_name", 2: "token"}
_RESOURCES = {
    int(AiResource.AI_AUTOMATION): "ai_automation",
    int(AiResource.ASSISTANT): "assistant",
}


def expected_figures(
    deltas: RollupDeltas, month: str, cap: int, admitted: Collection[str]
) -> dict[Figure, int]:
    """Every figure of ``month`` that ``deltas`` (one organization's ledger) yields."""
    figures: dict[Figure, int] = defaultdict(int)
    names = {key[2] for key in deltas.api_calls} - _ALWAYS
    mapped = {} if len(names) <= cap else {n: OTHER for n in names if n not in admitted}
    for (_, day, operation, token), calls in deltas.api_calls.items():
        if not calls:
            continue
        label = day.isoformat()
        operation = mapped.get(operation, operation)
        for dimension, value in (
            (ApiDimension.TOTAL, ""),
            (ApiDimension.OPERATION_NAME, operation),
            (ApiDimension.TOKEN, token),
        ):
            figures[("api_calls_daily", (label, int(dimension), value), "calls")] += calls
            figures[("api_calls_monthly", (month, int(dimension), value), "calls")] += calls
    for (_, day, flow_id), run in deltas.flow_runs.items():
        label = day.isoformat()
        for name, key in (
            ("flow_usage_daily", (label, flow_id)),
            ("flow_usage_monthly", (month, flow_id)),
        ):
            figures[(name, key, "tasks")] += run.tasks
            figures[(name, key, "runs")] += run.runs
            last = (name, key, "last_run_at")
            figures[last] = max(figures[last], run.last_run_at)
        figures[("task_usage_daily", (label,), "tasks")] += run.tasks
        figures[("task_usage_daily", (label,), "runs")] += run.runs
    for (_, day, resource, agent), micro in deltas.ai_credits.items():
        figures[("ai_credits_daily", (day.isoformat(), int(resource), agent), "credits")] += micro
        figures[("ai_credits_monthly", (month, int(resource), agent), "credits")] += micro
    for (_, day, automation_id), job in deltas.automation_jobs.items():
        for name, key in (
            ("automation_jobs_daily", (day.isoformat(), automation_id)),
            ("automation_jobs_monthly", (month, automation_id)),
        ):
            figures[(name, key, "jobs")] += job.jobs
            last = (name, key, "last_job_at")
            figures[last] = max(figures[last], job.last_job_at)
    for (_, _), totals in deltas.month_totals().items():
        for column, total in zip(FIGURES, totals, strict=True):
            figures[("usage_totals_monthly", (month,), column)] += total
    return dict(figures)


def figure_name(figure: Figure) -> str:
    """How a figure is reported: ``api_calls_daily[2026-11-03,token=bot].calls``."""
    table, key, column = figure
    parts = [str(key[0])]
    if table.startswith("api_calls"):
        dimension = _DIMENSIONS.get(int(str(key[1])), str(key[1]))
        parts.append(dimension if dimension == "total" else f"{dimension}={key[2]}")
    elif table.startswith("flow_usage"):
        parts.append(f"flow={key[1]}")
    elif table.startswith("automation_jobs"):
        parts.append(f"automation={key[1]}")
    elif table.startswith("ai_credits"):
        resource = _RESOURCES.get(int(str(key[1])), str(key[1]))
        parts.append(f"{resource}={key[2]}" if key[2] else resource)
    return f"{table}[{','.join(parts)}].{column}"
