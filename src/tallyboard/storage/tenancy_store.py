"""Reads of organizations, memberships, roles and settings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import cache
from typing import Any

import orjson
from sqlalchemy import Select, bindparam, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.domain.organization import SETTINGS_FIELDS, OrgRef, SettingsEntry
from tallyboard.domain.periods import Month
from tallyboard.storage import tables as t

__all__ = [
    "TENANCY_GENERATION",
    "RoleGrant",
    "bump_generation",
    "generation_subquery",
    "grants_of_service_account",
    "grants_of_user",
    "org_by_id",
    "orgs_by_pk",
    "orgs_by_uuid",
    "settings_entries",
]

_ORG_COLUMNS = (
    t.organizations.c.pk,
    t.organizations.c.id,
    t.organizations.c.uuid,
    t.organizations.c.name,
)


TENANCY_GENERATION = "tenancy-generation"
"""Name of the instance-state row that changes whenever ``admin apply`` writes.

Processes cache a principal's grants under the generation the credential lookup read
with them (decision 0009): a new generation -- a removed membership, a changed role or
custom role, a renamed organization -- misses every cached entry on the very next
request of every process. The row lives in ``instance_secrets`` (the instance's
name -> value table) so no migration is needed."""


def generation_subquery() -> Any:
    """The current generation as a scalar subquery (None before the first apply), to
    ride along with the per-request credential lookup at no extra round trip."""
    table = t.instance_secrets
    return select(table.c.value).where(table.c.name == TENANCY_GENERATION).scalar_subquery()


def bump_generation(conn: Connection, generation: str) -> None:
    """Store a new generation (inside the applier's transaction, under its lock)."""
    table = t.instance_secrets
    updated = conn.execute(
        update(table).where(table.c.name == TENANCY_GENERATION).values(value=generation)
    )
    if not updated.rowcount:
        conn.execute(insert(table).values(name=TENANCY_GENERATION, value=generation))


@dataclass(frozen=True, slots=True)
class RoleGrant:
    """A principal's role in one organization, with a custom role's permissions."""

    org: OrgRef
    role: str
    custom_permissions: tuple[str, ...] | None


def orgs_by_uuid(conn: Connection, uuids: Collection[str]) -> dict[str, OrgRef]:
    if not uuids:
        return {}
    rows = conn.execute(select(*_ORG_COLUMNS).where(t.organizations.c.uuid.in_(list(uuids))))
    return {row.uuid: OrgRef(*row) for row in rows}


def orgs_by_pk(conn: Connection, pks: Collection[int]) -> dict[int, OrgRef]:
    if not pks:
        return {}
    rows = conn.execute(select(*_ORG_COLUMNS).where(t.organizations.c.pk.in_(list(pks))))
    return {row.pk: OrgRef(*row) for row in rows}


def org_by_id(conn: Connection, org_id: str) -> OrgRef | None:
    row = conn.execute(select(*_ORG_COLUMNS).where(t.organizations.c.id == org_id)).first()
    return OrgRef(*row) if row else None


@cache
def _grants_query(holder: str, by_uuids: bool, by_id: bool) -> Select[Any]:
    """The grants statement of one shape, built once (it runs on every statistics
    request; a prebuilt statement skips SQLAlchemy's per-call construction)."""
    table = t.memberships if holder == "user" else t.service_accounts
    o, cr = t.organizations, t.custom_roles
    owner = table.c.user_pk if holder == "user" else table.c.pk
    query = (
        select(*_ORG_COLUMNS, table.c.role, cr.c.permissions)
        .join_from(table, o, o.c.pk == table.c.org_pk)
        .outerjoin(cr, (cr.c.org_pk == table.c.org_pk) & (cr.c.name == table.c.role))
        .where(owner == bindparam("holder_pk"))
    )
    if by_uuids:
        query = query.where(o.c.uuid.in_(bindparam("org_uuids", expanding=True)))
    if by_id:
        query = query.where(o.c.id == bindparam("org_id"))
    return query


def _grants_of(
    conn: Connection,
    holder: str,
    holder_pk: int,
    org_uuids: Collection[str] | None,
    org_id: str | None,
) -> list[RoleGrant]:
    params: dict[str, Any] = {"holder_pk": holder_pk}
    if org_uuids is not None:
        if not org_uuids:
            return []
        params["org_uuids"] = list(org_uuids)
    if org_id is not None:
        params["org_id"] = org_id
    query = _grants_query(holder, org_uuids is not None, org_id is not None)
    grants = []
    for pk, oid, uuid, name, role, permissions in conn.execute(query, params):
        custom = tuple(orjson.loads(permissions)) if permissions is not None else None
        grants.append(RoleGrant(OrgRef(pk, oid, uuid, name), role, custom))
    return grants


def grants_of_user(
    conn: Connection,
    user_pk: int,
    *,
    org_uuids: Collection[str] | None = None,
    org_id: str | None = None,
) -> list[RoleGrant]:
    return _grants_of(conn, "user", user_pk, org_uuids, org_id)


def grants_of_service_account(
    conn: Connection,
    account_pk: int,
    *,
    org_uuids: Collection[str] | None = None,
    org_id: str | None = None,
) -> list[RoleGrant]:
    return _grants_of(conn, "service_account", account_pk, org_uuids, org_id)


_SETTINGS_ENTRIES = (
    select(
        t.organization_settings.c.org_pk,
        t.organization_settings.c.effective_from,
        t.organization_settings.c.changes,
    )
    .where(t.organization_settings.c.org_pk.in_(bindparam("org_pks", expanding=True)))
    .order_by(t.organization_settings.c.org_pk, t.organization_settings.c.effective_from)
)
"""Built once: every statistics query reads its organizations' allowances."""


def settings_entries(conn: Connection, org_pks: Iterable[int]) -> dict[int, list[SettingsEntry]]:
    """Every settings entry of the given organizations, oldest first."""
    wanted = list(org_pks)
    result: dict[int, list[SettingsEntry]] = defaultdict(list)
    if not wanted:
        return result
    rows = conn.execute(_SETTINGS_ENTRIES, {"org_pks": wanted})
    for org_pk, effective_from, changes in rows:
        decoded = orjson.loads(changes)
        unknown = set(decoded) - set(SETTINGS_FIELDS.values())
        if unknown:
            raise ValueError(f"unknown settings fields stored for organization {org_pk}: {unknown}")
        result[org_pk].append(SettingsEntry(Month.parse(effective_from), decoded))
    return result
