"""The rows of each export file (spec §9 "Exports", and its settled details).

Usage report: ``organization_uuid, organization_name, bucket, resource, usage, limit``;
organizations in input order (those the principal may not read dropped: ``partial``),
within one the resources in the contract's order, each with its buckets ascending
(days, or months for ``last_3_months``; zero buckets included up to today) and then
its ``total`` row with the period's limit. A bucket's ``limit`` is its month's
allowance, empty when unset.

Automation jobs: sheet ``Jobs`` (one row per ``automation.job`` event of the period,
oldest first; names are the catalog's current ones, pipes by name) and sheet
``Automations`` (automations with jobs, jobs descending then id).

Periods resolve against the export's creation time: the file is what the caller asked
for then, whenever it is built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

from tallyboard.access.policy import Action, Policy
from tallyboard.access.principal import Principal, PrincipalKind
from tallyboard.domain.alerts import RESOURCES, Resource
from tallyboard.domain.credits import MICRO
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.periods import Month, Period, PeriodWindow, format_datetime, resolve_period
from tallyboard.exports.files import Row, Sheet
from tallyboard.stats.allowances import Allowances, OrgAllowances
from tallyboard.storage.database import Database
from tallyboard.storage.export_claims import Claim
from tallyboard.storage.export_sources import catalog, daily_usage, job_events, monthly_usage

__all__ = ["AUTOMATIONS_HEADER", "JOBS_HEADER", "USAGE_HEADER", "jobs_sheets", "usage_sheet"]

USAGE_HEADER = ("organization_uuid", "organization_name", "bucket", "resource", "usage", "limit")
JOBS_HEADER = (
    "time",
    "automation_id",
    "automation_name",
    "action",
    "event",
    "event_pipe",
    "action_pipe",
    "jobs",
)
AUTOMATIONS_HEADER = ("automation_id", "automation_name", "jobs")


def _window(claim: Claim, period: str) -> PeriodWindow:
    return resolve_period(Period(period), datetime.fromtimestamp(claim.created_at / 1000, UTC))


def _figure(resource: Resource, value: int | None) -> int | Decimal | None:
    if value is None or not resource.credits:
        return value
    return Decimal(value) / MICRO


def usage_sheet(database: Database, policy: Policy, claim: Claim) -> tuple[Sheet, bool]:
    """The ``Usage`` sheet and whether organizations were dropped."""
    parameters = json.loads(claim.parameters)
    uuids: list[str] = parameters["organization_uuids"]
    principal = Principal(PrincipalKind(claim.principal_kind), claim.principal_pk, 0, "", "")
    permitted = policy.permitted(principal, Action.VIEW_USAGE_STATS, uuids)
    orgs = [permitted[u] for u in uuids if u in permitted]
    window = _window(claim, parameters["period"])
    allowances = Allowances(database)
    rows = _usage_rows(database, allowances, orgs, window)
    return Sheet("Usage", USAGE_HEADER, rows), len(orgs) < len(uuids)


def _usage_rows(
    database: Database, allowances: Allowances, orgs: list[OrgRef], window: PeriodWindow
) -> Iterator[Row]:
    monthly = window.uses_monthly_buckets
    if monthly:
        buckets = [str(m) for m in window.months_to_date()]
    else:
        buckets = [d.isoformat() for d in window.days_to_date()]
    for org in orgs:
        with database.read() as conn:
            if monthly:
                usage = monthly_usage(conn, org.pk, buckets)
            else:
                usage = daily_usage(
                    conn,
                    org.pk,
                    window.first_day.isoformat(),
                    buckets[-1] if buckets else window.first_day.isoformat(),
                )
        limits = allowances.for_organization(org.pk)
        for resource in RESOURCES:
            yield from _resource_rows(org, resource, buckets, usage[resource.name], limits, window)


def _resource_rows(
    org: OrgRef,
    resource: Resource,
    buckets: list[str],
    usage: dict[str, int],
    limits: OrgAllowances,
    window: PeriodWindow,
) -> Iterator[Row]:
    field = resource.allowance_field
    for bucket in buckets:
        month = Month.parse(bucket[:7])
        yield (
            org.uuid,
            org.name,
            bucket,
            resource.name,
            _figure(resource, usage.get(bucket, 0)),
            _figure(resource, limits.monthly(month, field)),
        )
    total = sum(usage.get(bucket, 0) for bucket in buckets)
    limit = _figure(resource, limits.limit(window, field))
    yield (org.uuid, org.name, "total", resource.name, _figure(resource, total), limit)


def jobs_sheets(database: Database, claim: Claim) -> list[Sheet]:
    """``Jobs`` streamed from the events; ``Automations`` from the totals the first pass
    gathered (one integer per automation)."""
    parameters = json.loads(claim.parameters)
    org_pk: int = parameters["organization_pk"]
    window = _window(claim, parameters["period"])
    with database.read() as conn:
        entries, pipe_names = catalog(conn, org_pk)
    totals: dict[str, int] = {}

    def named(automation_id: str) -> str:
        entry = entries.get(automation_id)
        return entry.name if entry is not None and entry.name is not None else automation_id

    def jobs() -> Iterator[Row]:
        start = int(window.start.timestamp() * 1000)
        end = int(window.end_exclusive.timestamp() * 1000)
        with database.read() as conn:
            for event in job_events(conn, org_pk, start, end):
                entry = entries.get(event.automation_id)
                totals[event.automation_id] = totals.get(event.automation_id, 0) + event.jobs
                yield (
                    format_datetime(datetime.fromtimestamp(event.time_ms / 1000, UTC)),
                    event.automation_id,
                    named(event.automation_id),
                    entry.action if entry else None,
                    entry.event if entry else None,
                    pipe_names.get(entry.event_pipe) if entry and entry.event_pipe else None,
                    pipe_names.get(entry.action_pipe) if entry and entry.action_pipe else None,
                    event.jobs,
                )

    def automations() -> Iterator[Row]:
        ranked = sorted(
            (item for item in totals.items() if item[1] > 0), key=lambda i: (-i[1], i[0])
        )
        for automation_id, count in ranked:
            yield (automation_id, named(automation_id), count)

    return [
        Sheet("Jobs", JOBS_HEADER, jobs()),
        Sheet("Automations", AUTOMATIONS_HEADER, automations()),
    ]
