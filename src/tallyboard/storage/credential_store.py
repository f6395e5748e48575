"""Credential lookups and inserts. Only hashes ever reach this module."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.storage import tables as t
from tallyboard.storage.tenancy_store import generation_subquery

__all__ = [
    "AccessTokenRow",
    "AdminTokenRow",
    "IngestKeyRow",
    "PersonalTokenRow",
    "ServiceAccountRow",
    "admin_tokens",
    "find_access_token",
    "find_admin_token",
    "find_ingest_key",
    "find_personal_token",
    "find_service_account_by_client_id",
    "insert_access_token",
    "insert_admin_token",
    "revoke_admin_token",
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
    )
    .join_from(t.personal_tokens, t.users, t.users.c.pk == t.personal_tokens.c.user_pk)
    .where(t.personal_tokens.c.token_hash == bindparam("token_hash"))
)


def find_access_token(conn: Connection, token_hash: str) -> AccessTokenRow | None:
    row = conn.execute(_FIND_ACCESS_TOKEN, {"token_hash": token_hash}).first()
    return AccessTokenRow(*row) if row else None


def find_personal_token(conn: Connection, token_hash: str) -> PersonalTokenRow | None:
    row = conn.execute(_FIND_PERSONAL_TOKEN, {"token_hash": token_hash}).first()
    return PersonalTokenRow(*row) if row else None


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
