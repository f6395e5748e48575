"""Credential lookups and inserts. Only hashes ever reach this module."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t
from tallyboard.storage.tenancy_store import generation_subquery

__all__ = [
    "AccessTokenRow",
    "AdminTokenRow",
    "DisabledPersonalToken",
    "IngestKeyRow",
    "PersonalTokenRow",
    "ServiceAccountRow",
    "admin_tokens",
    "delete_dead_access_tokens",
    "find_access_token",
    "find_admin_token",
    "find_ingest_key",
    "find_personal_token",
    "find_service_account_by_client_id",
    "insert_access_token",
    "insert_admin_token",
    "revoke_admin_token",
    "revoke_older_access_tokens",
    "revoke_tokens_outside_billing_org",
]


@dataclass(frozen=True, slots=True)
class AccessTokenRow:
    expires_at: int
    revoked_at: int | None
    service_account_pk: int
    service_account_name: str
    org_pk: int
    account_revoked_at: int | None
    tenancy_generation: str | None


@dataclass(frozen=True, slots=True)
class PersonalTokenRow:
    pk: int
    name: str
    billing_org_pk: int
    expires_at: int | None
    revoked_at: int | None
    user_pk: int
    user_name: str
    tenancy_generation: str | None
    billing_member: bool
    """The user still belongs to the billing organization (else the token is dead)."""


@dataclass(frozen=True, slots=True)
class DisabledPersonalToken:
    user_email: str
    name: str
    billing_org_id: str


@dataclass(frozen=True, slots=True)
class IngestKeyRow:
    pk: int
    name: str
    org_pk: int | None
    expires_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class AdminTokenRow:
    pk: int
    label: str
    created_at: int
    expires_at: int | None
    revoked_at: int | None


@dataclass(frozen=True, slots=True)
class ServiceAccountRow:
    pk: int
    org_pk: int
    name: str
    client_secret_hash: str
    token_lifetime_seconds: int
    revoked_at: int | None


# Built once: these run on every GraphQL request, and a prebuilt statement skips
# SQLAlchemy's per-call construction and cache-key work (decision 0009).
_FIND_ACCESS_TOKEN = (
    select(
        t.access_tokens.c.expires_at,
        t.access_tokens.c.revoked_at,
        t.service_accounts.c.pk,
        t.service_accounts.c.name,
        t.service_accounts.c.org_pk,
        t.service_accounts.c.revoked_at,
        generation_subquery(),
    )
    .join_from(
        t.access_tokens,
        t.service_accounts,
        t.service_accounts.c.pk == t.access_tokens.c.service_account_pk,
    )
    .where(t.access_tokens.c.token_hash == bindparam("token_hash"))
)
_BILLING_MEMBERSHIP = (
    exists()
    .where(
        t.memberships.c.user_pk == t.personal_tokens.c.user_pk,
        t.memberships.c.org_pk == t.personal_tokens.c.billing_org_pk,
    )
    .correlate(t.personal_tokens)
)
"""A personal token bills its billing organization only while its user belongs to it
(a primary-key probe, riding along with the lookup)."""
_FIND_PERSONAL_TOKEN = (
    select(
        t.personal_tokens.c.pk,
        t.personal_tokens.c.name,
        t.personal_tokens.c.billing_org_pk,
        t.personal_tokens.c.expires_at,
        t.personal_tokens.c.revoked_at,
        t.users.c.pk,
        t.users.c.name,
        generation_subquery(),
        _BILLING_MEMBERSHIP.label("billing_member"),
    )
    .join_from(t.personal_tokens, t.users, t.users.c.pk == t.personal_tokens.c.user_pk)
    .where(t.personal_tokens.c.token_hash == bindparam("token_hash"))
)


def find_access_token(conn: Connection, token_hash: str) -> AccessTokenRow | None:
    row = conn.execute(_FIND_ACCESS_TOKEN, {"token_hash": token_hash}).first()
    return AccessTokenRow(*row) if row else None


def find_personal_token(conn: Connection, token_hash: str) -> PersonalTokenRow | None:
    row = conn.execute(_FIND_PERSONAL_TOKEN, {"token_hash": token_hash}).first()
    if row is None:
        return None
    pk, name, billing, expires, revoked, user_pk, user_name, generation, member = row
    return PersonalTokenRow(
        pk, name, billing, expires, revoked, user_pk, user_name, generation, bool(member)
    )


def revoke_tokens_outside_billing_org(conn: Connection, now: int) -> list[DisabledPersonalToken]:
    """Revoke every active personal token whose user no longer belongs to its billing
    organization; returns them (ordered by user, then name)."""
    pt, u, o = t.personal_tokens, t.users, t.organizations
    orphaned = conn.execute(
        select(pt.c.pk, u.c.email, pt.c.name, o.c.id)
        .join_from(pt, u, u.c.pk == pt.c.user_pk)
        .join(o, o.c.pk == pt.c.billing_org_pk)
        .where(pt.c.revoked_at.is_(None), ~_BILLING_MEMBERSHIP)
        .order_by(u.c.email, pt.c.name)
    ).all()
    if orphaned:
        conn.execute(update(pt).where(pt.c.pk.in_([r[0] for r in orphaned])).values(revoked_at=now))
    return [DisabledPersonalToken(email, name, org_id) for _, email, name, org_id in orphaned]


_ADMIN_COLUMNS = (
    t.admin_tokens.c.pk,
    t.admin_tokens.c.label,
    t.admin_tokens.c.created_at,
    t.admin_tokens.c.expires_at,
    t.admin_tokens.c.revoked_at,
)


def find_admin_token(conn: Connection, token_hash: str) -> AdminTokenRow | None:
    row = conn.execute(select(*_ADMIN_COLUMNS).where(t.admin_tokens.c.token_hash == token_hash))
    found = row.first()
    return AdminTokenRow(*found) if found else None


def admin_tokens(conn: Connection) -> list[AdminTokenRow]:
    rows = conn.execute(select(*_ADMIN_COLUMNS).order_by(t.admin_tokens.c.pk))
    return [AdminTokenRow(*row) for row in rows]


def revoke_admin_token(conn: Connection, pk: int, now: int) -> bool:
    """True when an active token was revoked now."""
    at = t.admin_tokens
    result = conn.execute(
        update(at).where(at.c.pk == pk, at.c.revoked_at.is_(None)).values(revoked_at=now)
    )
    return bool(result.rowcount)


def find_ingest_key(conn: Connection, key_hash: str) -> IngestKeyRow | None:
    ik = t.ingest_keys
    row = conn.execute(
        select(ik.c.pk, ik.c.name, ik.c.org_pk, ik.c.expires_at, ik.c.revoked_at).where(
            ik.c.key_hash == key_hash
        )
    ).first()
    return IngestKeyRow(*row) if row else None


def find_service_account_by_client_id(conn: Connection, client_id: str) -> ServiceAccountRow | None:
    sa = t.service_accounts
    row = conn.execute(
        select(
            sa.c.pk,
            sa.c.org_pk,
            sa.c.name,
            sa.c.client_secret_hash,
            sa.c.token_lifetime_seconds,
            sa.c.revoked_at,
        ).where(sa.c.client_id == client_id)
    ).first()
    return ServiceAccountRow(*row) if row else None


def insert_access_token(
    conn: Connection, service_account_pk: int, token_hash: str, created_at: int, expires_at: int
) -> None:
    conn.execute(
        insert(t.access_tokens).values(
            token_hash=token_hash,
            service_account_pk=service_account_pk,
            created_at=created_at,
            expires_at=expires_at,
        )
    )


def insert_admin_token(
    conn: Connection,
    token_hash: str,
    label: str,
    created_at: int,
    expires_at: int | None = None,
) -> int:
    result = conn.execute(
        insert(t.admin_tokens)
        .values(token_hash=token_hash, label=label, created_at=created_at, expires_at=expires_at)
        .returning(t.admin_tokens.c.pk)
    )
    return int(result.scalar_one())


def revoke_older_access_tokens(
    conn: Connection, service_account_pk: int, keep: int, now: int
) -> int:
    """Revoke the account's live access tokens beyond its ``keep`` newest; returns how
    many were revoked."""
    at = t.access_tokens
    live = (
        at.c.service_account_pk == service_account_pk,
        at.c.revoked_at.is_(None),
        at.c.expires_at > now,
    )
    newest = select(at.c.pk).where(*live).order_by(at.c.pk.desc()).limit(keep)
    result = conn.execute(update(at).where(*live, at.c.pk.not_in(newest)).values(revoked_at=now))
    return int(result.rowcount)


def delete_dead_access_tokens(conn: Connection, cutoff: int, limit: int) -> int:
    """Delete up to ``limit`` access tokens that expired or were revoked at or before
    ``cutoff``, oldest first (the oldest are the likeliest dead, so the scan in key
    order stops early); returns how many were deleted."""
    at = t.access_tokens
    dead = (
        select(at.c.pk)
        .where(or_(at.c.expires_at <= cutoff, at.c.revoked_at <= cutoff))
        .order_by(at.c.pk)
        .limit(limit)
    )
    pks = list(conn.execute(dead).scalars())
    if not pks:
        return 0
    return int(conn.execute(delete(at).where(at.c.pk.in_(pks))).rowcount)
