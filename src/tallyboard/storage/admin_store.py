"""Reads and writes behind ``tallyboard admin apply``.

The applier decides *what* changes; this module only knows how to read the current
rows and write new ones. Every function runs inside the applier's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t

__all__ = [
    "ExistingIngestKey",
    "ExistingOrg",
    "ExistingServiceAccount",
    "ExistingUser",
]


@dataclass(frozen=True, slots=True)
class ExistingOrg:
    pk: int
    id: str
    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class ExistingUser:
    pk: int
    email: str
    name: str


@dataclass(frozen=True, slots=True)
class ExistingServiceAccount:
    pk: int
    org_pk: int
    name: str
    description: str
    role: str
    token_lifetime_seconds: int
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class ExistingIngestKey:
    pk: int
    name: str
    org_pk: int | None
    expires_at: int | None


# ------------------------------------------------------------------ reads


def all_orgs(conn: Connection) -> list[ExistingOrg]:
    o = t.organizations
    return [ExistingOrg(*r) for r in conn.execute(select(o.c.pk, o.c.id, o.c.uuid, o.c.name))]


def users_by_email(conn: Connection, emails: Collection[str]) -> dict[str, ExistingUser]:
    if not emails:
        return {}
    u = t.users
    rows = conn.execute(select(u.c.pk, u.c.email, u.c.name).where(u.c.email.in_(list(emails))))
    return {r.email: ExistingUser(*r) for r in rows}


def custom_roles(conn: Connection, org_pks: Collection[int]) -> dict[int, dict[str, list[str]]]:
    out: dict[int, dict[str, list[str]]] = {pk: {} for pk in org_pks}
    if not org_pks:
        return out
    r = t.custom_roles
    for org_pk, name, permissions in conn.execute(
        select(r.c.org_pk, r.c.name, r.c.permissions).where(r.c.org_pk.in_(list(org_pks)))
    ):
        out[org_pk][name] = orjson.loads(permissions)
    return out


def memberships_of_users(conn: Connection, user_pks: Collection[int]) -> dict[int, dict[int, str]]:
    """user pk -> {org pk: role}."""
    out: dict[int, dict[int, str]] = {pk: {} for pk in user_pks}
    if not user_pks:
        return out
    m = t.memberships
    for user_pk, org_pk, role in conn.execute(
        select(m.c.user_pk, m.c.org_pk, m.c.role).where(m.c.user_pk.in_(list(user_pks)))
    ):
        out[user_pk][org_pk] = role
    return out


def role_holders(conn: Connection, org_pks: Collection[int]) -> list[tuple[str, int, int, str]]:
    """(kind, owner pk, org pk, role) of every membership and service account in the orgs."""
    if not org_pks:
        return []
    m, sa = t.memberships, t.service_accounts
    wanted = list(org_pks)
    rows: list[tuple[str, int, int, str]] = [
        ("user", user_pk, org_pk, role)
        for user_pk, org_pk, role in conn.execute(
            select(m.c.user_pk, m.c.org_pk, m.c.role).where(m.c.org_pk.in_(wanted))
        )
    ]
    rows += [
        ("service_account", pk, org_pk, role)
        for pk, org_pk, role in conn.execute(
            select(sa.c.pk, sa.c.org_pk, sa.c.role).where(sa.c.org_pk.in_(wanted))
        )
    ]
    return rows


def user_emails(conn: Connection, user_pks: Collection[int]) -> dict[int, str]:
    if not user_pks:
        return {}
    u = t.users
    rows = conn.execute(select(u.c.pk, u.c.email).where(u.c.pk.in_(list(user_pks))))
    return {int(pk): str(email) for pk, email in rows}


def service_accounts(conn: Connection) -> dict[tuple[int, str], ExistingServiceAccount]:
    sa = t.service_accounts
    rows = conn.execute(
        select(
            sa.c.pk,
            sa.c.org_pk,
            sa.c.name,
            sa.c.description,
            sa.c.role,
            sa.c.token_lifetime_seconds,
            sa.c.revoked_at,
        )
    )
    return {(r.org_pk, r.name): ExistingServiceAccount(*r) for r in rows}


def active_ingest_keys(conn: Connection) -> dict[str, ExistingIngestKey]:
    ik = t.ingest_keys
    rows = conn.execute(
        select(ik.c.pk, ik.c.name, ik.c.org_pk, ik.c.expires_at).where(ik.c.revoked_at.is_(None))
    )
    return {r.name: ExistingIngestKey(*r) for r in rows}


def ingest_key_names(conn: Connection) -> set[str]:
    return set(conn.execute(select(t.ingest_keys.c.name)).scalars())


def personal_token_names(
    conn: Connection, user_pks: Collection[int]
) -> dict[tuple[int, str], bool]:
    """(user pk, token name) -> has an active token of that name."""
    if not user_pks:
        return {}
    pt = t.personal_tokens
    out: dict[tuple[int, str], bool] = {}
    for user_pk, name, revoked_at in conn.execute(
        select(pt.c.user_pk, pt.c.name, pt.c.revoked_at).where(pt.c.user_pk.in_(list(user_pks)))
    ):
        out[(user_pk, name)] = out.get((user_pk, name), False) or revoked_at is None
    return out


def settings_changes(conn: Connection, org_pk: int) -> dict[str, dict[str, Any]]:
    s = t.organization_settings
    return {
        month: orjson.loads(changes)
        for month, changes in conn.execute(
            select(s.c.effective_from, s.c.changes).where(s.c.org_pk == org_pk)
        )
    }


def catalog_rows(conn: Connection, table_name: str, org_pk: int) -> dict[str, Mapping[str, Any]]:
    table = t.metadata.tables[table_name]
    key = {"agents": "agent_id", "projects": "project_id", "flows": "flow_id"}[table_name]
    rows = conn.execute(select(table).where(table.c.org_pk == org_pk)).mappings()
    return {row[key]: dict(row) for row in rows}


# ------------------------------------------------------------------ writes


def insert_org(conn: Connection, org_id: str, uuid: str, name: str, now: int) -> int:
    result = conn.execute(
        insert(t.organizations)
        .values(id=org_id, uuid=uuid, name=name, created_at=now)
        .returning(t.organizations.c.pk)
    )
    return int(result.scalar_one())


def rename_org(conn: Connection, pk: int, name: str) -> None:
    conn.execute(update(t.organizations).where(t.organizations.c.pk == pk).values(name=name))


def put_settings(
    conn: Connection, org_pk: int, month: str, changes: Mapping[str, Any], *, exists: bool
) -> None:
    encoded = orjson.dumps(dict(changes), option=orjson.OPT_SORT_KEYS).decode()
    s = t.organization_settings
    if exists:
        conn.execute(
            update(s)
            .where(s.c.org_pk == org_pk, s.c.effective_from == month)
            .values(changes=encoded)
        )
    else:
        conn.execute(insert(s).values(org_pk=org_pk, effective_from=month, changes=encoded))


def replace_custom_roles(conn: Connection, org_pk: int, roles: Mapping[str, list[str]]) -> None:
    r = t.custom_roles
    conn.execute(r.delete().where(r.c.org_pk == org_pk))
    if roles:
        conn.execute(
            insert(r),
            [
                {"org_pk": org_pk, "name": name, "permissions": orjson.dumps(perms).decode()}
                for name, perms in sorted(roles.items())
            ],
        )


def upsert_catalog(
    conn: Connection,
    table_name: str,
    org_pk: int,
    key: str,
    values: Mapping[str, Any],
    *,
    exists: bool,
) -> None:
    table = t.metadata.tables[table_name]
    key_column = {"agents": "agent_id", "projects": "project_id", "flows": "flow_id"}[table_name]
    if exists:
        conn.execute(
            update(table)
            .where(and_(table.c.org_pk == org_pk, table.c[key_column] == key))
            .values(**values)
        )
    else:
        conn.execute(insert(table).values(org_pk=org_pk, **{key_column: key}, **values))


def insert_user(conn: Connection, email: str, name: str, now: int) -> int:
    result = conn.execute(
        insert(t.users).values(email=email, name=name, created_at=now).returning(t.users.c.pk)
    )
    return int(result.scalar_one())


def rename_user(conn: Connection, pk: int, name: str) -> None:
    conn.execute(update(t.users).where(t.users.c.pk == pk).values(name=name))


def replace_memberships(conn: Connection, user_pk: int, roles: Mapping[int, str]) -> None:
    m = t.memberships
    conn.execute(m.delete().where(m.c.user_pk == user_pk))
    if roles:
        conn.execute(
            insert(m),
            [
                {"user_pk": user_pk, "org_pk": org_pk, "role": role}
                for org_pk, role in sorted(roles.items())
            ],
        )


def insert_personal_token(
    conn: Connection,
    user_pk: int,
    name: str,
    billing_org_pk: int,
    token_hash: str,
    now: int,
    expires_at: int | None,
) -> None:
    conn.execute(
        insert(t.personal_tokens).values(
            user_pk=user_pk,
            name=name,
            billing_org_pk=billing_org_pk,
            token_hash=token_hash,
            created_at=now,
            expires_at=expires_at,
        )
    )


def update_personal_token(
    conn: Connection, user_pk: int, name: str, billing_org_pk: int, expires_at: int | None
) -> int:
    pt = t.personal_tokens
    result = conn.execute(
        update(pt)
        .where(
            pt.c.user_pk == user_pk,
            pt.c.name == name,
            pt.c.revoked_at.is_(None),
            (pt.c.billing_org_pk != billing_org_pk)
            | (pt.c.expires_at.is_distinct_from(expires_at)),
        )
        .values(billing_org_pk=billing_org_pk, expires_at=expires_at)
    )
    return int(result.rowcount)


def insert_service_account(
    conn: Connection,
    org_pk: int,
    name: str,
    description: str,
    role: str,
    lifetime: int,
    client_id: str,
    secret_hash: str,
    now: int,
) -> None:
    conn.execute(
        insert(t.service_accounts).values(
            org_pk=org_pk,
            name=name,
            description=description,
            role=role,
            token_lifetime_seconds=lifetime,
            client_id=client_id,
            client_secret_hash=secret_hash,
            created_at=now,
        )
    )


def update_service_account(conn: Connection, pk: int, **values: Any) -> None:
    sa = t.service_accounts
    conn.execute(update(sa).where(sa.c.pk == pk).values(**values))


def insert_ingest_key(
    conn: Connection,
    name: str,
    org_pk: int | None,
    key_hash: str,
    now: int,
    expires_at: int | None,
) -> None:
    conn.execute(
        insert(t.ingest_keys).values(
            name=name, org_pk=org_pk, key_hash=key_hash, created_at=now, expires_at=expires_at
        )
    )


def set_ingest_key_expiry(conn: Connection, pk: int, expires_at: int | None) -> None:
    ik = t.ingest_keys
    conn.execute(update(ik).where(ik.c.pk == pk).values(expires_at=expires_at))


def revoke_personal_token(conn: Connection, user_pk: int, name: str, now: int) -> int:
    pt = t.personal_tokens
    result = conn.execute(
        update(pt)
        .where(pt.c.user_pk == user_pk, pt.c.name == name, pt.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(result.rowcount)


def revoke_service_account(conn: Connection, pk: int, now: int) -> int:
    sa, at = t.service_accounts, t.access_tokens
    conn.execute(
        update(at)
        .where(at.c.service_account_pk == pk, at.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    result = conn.execute(
        update(sa).where(sa.c.pk == pk, sa.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(result.rowcount)


def revoke_ingest_key(conn: Connection, name: str, now: int) -> int:
    ik = t.ingest_keys
    result = conn.execute(
        update(ik).where(ik.c.name == name, ik.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return int(result.rowcount)
