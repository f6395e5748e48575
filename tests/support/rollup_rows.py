"""Every rollup row of an organization, zeros included, and what ``topAgents`` ranks:
how the correction tests tell "a row holding zero" from "no row" (spec §11)."""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from tallyboard.storage import ai_credit_reader
from tallyboard.storage import tables as t
from tallyboard.storage.database import Database
from tallyboard.storage.tables_automation import automation_jobs_daily as jobs_daily
from tallyboard.storage.tables_automation import automation_jobs_monthly as jobs_monthly
from tests.support.corrections import usage_only
from tests.support.events import RollupSnapshot, rollup_snapshot
from tests.support.harness import DEFAULT_NOW, Harness

__all__ = ["DAY", "rows", "rows_at", "top_agents"]

DAY = DEFAULT_NOW - timedelta(days=2)


def rows(harness: Harness, org: str) -> dict[str, dict[Any, Any]]:
    return rows_at(harness.database_url, org)


def rows_at(database_url: str, org: str) -> dict[str, dict[Any, Any]]:
    """Every rollup row of the organization, a row holding zero included (a Counter
    compares a missing key equal to zero; a plain dict does not)."""
    snapshot: RollupSnapshot = usage_only(rollup_snapshot(database_url, org))
    found = {
        f.name: dict(getattr(snapshot, f.name))
        for f in fields(snapshot)
        if isinstance(getattr(snapshot, f.name), dict)
    }
    database = Database(database_url)
    try:
        with database.read() as conn:
            org_pk = _org_pk(conn, org)
            for table, bucket in ((jobs_daily, "day"), (jobs_monthly, "month")):
                columns = (
                    table.c[bucket],
                    table.c.automation_id,
                    table.c.jobs,
                    table.c.last_job_at,
                )
                query = select(*columns).where(table.c.org_pk == org_pk)
                found[table.name] = {(b, a): (j, last) for b, a, j, last in conn.execute(query)}
    finally:
        database.dispose()
    return found


def _org_pk(conn: Any, org: str) -> int:
    o = t.organizations
    return int(conn.execute(select(o.c.pk).where(o.c.uuid == org)).scalar_one())


def top_agents(
    harness: Harness, org: str, months: tuple[str, ...] = (DAY.strftime("%Y-%m"),)
) -> list[tuple[str, int]]:
    """What ``topAgents`` ranks: AI-automation credits per agent over ``months``."""
    with harness.app.state.components.database.read() as conn:
        found = ai_credit_reader.agent_credits(conn, [_org_pk(conn, org)], list(months))
    return sorted((a.agent_id, a.micro) for a in found)
