"""Per-organization versions of the usage rollups, one per stream (API calls,
integrations, AI credits, automation jobs).

The writers bump in the order of the streams' numbers (the rollup writer applies
API calls, flows, AI credits, then automation jobs), so two writers never take two
versions of one organization in opposite orders.

The statistics services keep the last answer of their hottest reads -- an
organization's API-usage figures, its full flow listing, its automations and agents
listings -- and reuse it while the version they read with it is unchanged (decision
0010). A version is raised inside the very transaction that changes the rollups (the
metering flush, an ingest batch, a correction) or the names events bring, so a reader
can never pair a new version with old rows or an old version with new ones; ``admin
apply`` changes the tenancy generation instead, which every stamp includes.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import IntEnum

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t
from tallyboard.storage.dialect import StorageDialect
from tallyboard.storage.tenancy_store import generation_subquery

__all__ = ["Stamp", "Stream", "bump", "stamp", "stamps"]


class Stream(IntEnum):
    API_CALLS = 1
    """``api_calls_daily`` / ``api_calls_monthly``."""
    INTEGRATIONS = 2
    """Flow usage, task totals, and the flow and project catalog."""
    AI_CREDITS = 3
    """AI credits (every resource) and the agents named by events."""
    AUTOMATIONS = 4
    """Automation jobs and the automations named by events."""
    AGENT_CATALOG = 5
    """What events change in the agents' catalog (a new agent, a name that won, an
    earlier first event): not their usage. Prepared catalogs are kept under it."""
    AUTOMATION_CATALOG = 6
    """The same for the automations' catalog."""


Stamp = tuple[int | None, str | None]
"""(version of the stream, tenancy generation); None parts: never written yet."""


def bump(
    conn: Connection, dialect: StorageDialect, stream: Stream, org_pks: Collection[int]
) -> None:
    """Raise ``stream``'s version of every organization in ``org_pks`` (sorted: one lock
    order for every writer)."""
    if org_pks:
        rows = [(org_pk, int(stream), 1) for org_pk in sorted(org_pks)]
        dialect.upsert_add(conn, t.usage_versions, ("org_pk", "stream"), ("version",), rows)


_V = t.usage_versions
_STAMP = select(
    select(_V.c.version)
    .where(_V.c.org_pk == bindparam("org_pk"), _V.c.stream == bindparam("stream"))
    .scalar_subquery(),
    generation_subquery(),
)


def stamp(conn: Connection, org_pk: int, stream: Stream) -> Stamp:
    """What an answer of ``stream`` for the organization was read under: equal stamps,
    equal rollups, catalog and tenancy."""
    version, generation = conn.execute(_STAMP, {"org_pk": org_pk, "stream": int(stream)}).one()
    return (None if version is None else int(version)), generation


_ONE = select(literal(1).label("one")).subquery()
_IN_STREAM = and_(
    _V.c.org_pk.in_(bindparam("orgs", expanding=True)), _V.c.stream == bindparam("stream")
)
_STAMPS = select(generation_subquery(), _V.c.org_pk, _V.c.version).select_from(
    _ONE.outerjoin(_V, _IN_STREAM)
)
"""One row per organization with a version, or a single row of nulls but the
generation when none has: the generation is read in the same statement either way."""


def stamps(conn: Connection, org_pks: Sequence[int], stream: Stream) -> dict[int, Stamp]:
    """:func:`stamp` of every organization in ``org_pks``, in one statement: a combined
    query that misses the cache for 25 organizations made 25 round trips for them."""
    if not org_pks:
        return {}
    rows = conn.execute(_STAMPS, {"orgs": list(org_pks), "stream": int(stream)}).all()
    generation: str | None = rows[0][0]
    versions = {org_pk: int(version) for _, org_pk, version in rows if org_pk is not None}
    return {pk: (versions.get(pk), generation) for pk in org_pks}
