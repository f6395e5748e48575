"""SQL of ``automationsUsageDetailsCombined`` on a cache miss: every organization's jobs,
automations and pipes in one statement per table (spec §9).

Up to 25 organizations miss the per-organization cache at once; one statement per
organization and table made 100 round trips. Each statement here reads all of them
(``org_pk IN (...)``), and the catalog only the automations with jobs in the months
(the combined lists hold only automations with usage), so the rows read are at most
months x automations with jobs, whatever the number of jobs (decision 0003).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    Integer,
    Select,
    bindparam,
    cast,
    exists,
    func,
    select,
)
from sqlalchemy.engine import Connection

from tallyboard.storage.driver_rows import fetch_rows
from tallyboard.storage.tables_automation import automation_jobs_monthly, automations, pipes
from tallyboard.storage.usage_entry_reader import CATALOG_COLUMNS

__all__ = ["catalogs_with_jobs", "monthly_jobs", "pipes_of"]

_m = automation_jobs_monthly
_ORGS: BindParameter[Any] = bindparam("orgs", expanding=True)
_MONTHS: BindParameter[Any] = bindparam("months", expanding=True)


def _jobs_query(orgs: int) -> Select[Any]:
    """Jobs and latest job per organization and automation over a span of months, for
    ``orgs`` organization parameters (``o0``, ``o1``, ...): one shape per size, so it
    is compiled once and runs on the driver's cursor (``storage/driver_rows.py``)."""
    org_params = [bindparam(f"o{i}", type_=Integer()) for i in range(orgs)]
    return (
        select(
            _m.c.org_pk,
            _m.c.automation_id,
            cast(func.sum(_m.c.jobs), BigInteger),
            func.max(_m.c.last_job_at),
        )
        .where(
            _m.c.org_pk.in_(org_params),
            _m.c.month.between(bindparam("first_month"), bindparam("last_month")),
        )
        .group_by(_m.c.org_pk, _m.c.automation_id)
    )


_ORG_SLOTS = 8
"""Organization parameters come in multiples of this (the last one repeated)."""
_JOBS_BY_SLOTS: dict[int, Select[Any]] = {}


_WITH_JOBS = exists().where(
    _m.c.org_pk == automations.c.org_pk,
    _m.c.automation_id == automations.c.automation_id,
    _m.c.month.in_(_MONTHS),
)
_CATALOG = select(
    automations.c.org_pk,
    automations.c.automation_id.label("id"),
    *(automations.c[c] for c in CATALOG_COLUMNS),
).where(automations.c.org_pk.in_(_ORGS), _WITH_JOBS)
_PIPES = select(
    pipes.c.org_pk, pipes.c.pipe_id, pipes.c.uuid, pipes.c.name, pipes.c.icon, pipes.c.color
).where(pipes.c.org_pk.in_(_ORGS))

Pipes = dict[str, tuple[str, str, str | None, str | None]]


def monthly_jobs(
    conn: Connection, org_pks: Sequence[int], months: Sequence[str]
) -> dict[int, dict[str, tuple[int, int]]]:
    """org pk -> automation id -> (jobs, latest job's epoch ms) over the months
    (consecutive, as every period's are: read as one span)."""
    found: dict[int, dict[str, tuple[int, int]]] = {pk: {} for pk in org_pks}
    if org_pks and months:
        slots = -(-len(org_pks) // _ORG_SLOTS) * _ORG_SLOTS
        statement = _JOBS_BY_SLOTS.get(slots)
        if statement is None:
            statement = _JOBS_BY_SLOTS[slots] = _jobs_query(slots)
        padded = [*org_pks, *[org_pks[-1]] * (slots - len(org_pks))]
        params: dict[str, Any] = {f"o{i}": pk for i, pk in enumerate(padded)}
        params.update(first_month=min(months), last_month=max(months))
        for org_pk, entry, jobs, last in fetch_rows(conn, statement, params):
            found[org_pk][entry] = (jobs, last)
    return found


def catalogs_with_jobs(
    conn: Connection, org_pks: Sequence[int], months: Sequence[str]
) -> dict[int, dict[str, dict[str, Any]]]:
    """org pk -> the catalog entries (as ``usage_entry_reader.catalog`` gives them) of
    the automations with a jobs row in the months."""
    found: dict[int, dict[str, dict[str, Any]]] = {pk: {} for pk in org_pks}
    if org_pks and months:
        result = conn.execute(_CATALOG, {"orgs": list(org_pks), "months": list(months)})
        names = tuple(result.keys())[1:]
        for row in result:
            found[row[0]][row[1]] = dict(zip(names, row[1:], strict=True))
    return found


def pipes_of(conn: Connection, org_pks: Sequence[int]) -> dict[int, Pipes]:
    """org pk -> pipe id -> (uuid, name, icon, color)."""
    found: dict[int, Pipes] = {pk: {} for pk in org_pks}
    if org_pks:
        for org_pk, pipe_id, u, name, icon, color in conn.execute(_PIPES, {"orgs": list(org_pks)}):
            found[org_pk][pipe_id] = (u, name, icon, color)
    return found
