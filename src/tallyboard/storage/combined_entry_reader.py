"""SQL of ``automationsUsageDetailsCombined`` on a cache miss: every missing
organization's jobs in one statement (spec §9).

Up to 25 organizations miss the per-organization cache at once; one statement each
made 25 round trips. The statement here reads all of them (``org_pk IN (...)``) from
the monthly rollup, so the rows read are at most months x automations with jobs,
whatever the number of jobs (decision 0003). Their catalogs come prepared
(``stats/prepared_catalog.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Integer,
    Select,
    bindparam,
    cast,
    func,
    select,
)
from sqlalchemy.engine import Connection

from tallyboard.storage.driver_rows import fetch_rows
from tallyboard.storage.tables_automation import automation_jobs_monthly

__all__ = ["monthly_jobs"]

_m = automation_jobs_monthly


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
