"""Turns an ``Authorization`` header into a caller, or refuses it.

Every failure -- missing header, wrong scheme, malformed or unknown token, a token of
another kind, expired, revoked -- raises the same :class:`UnauthorizedError`, so the
answer never tells an attacker which of these it was. Lookups go by the SHA-256 of the
presented secret; the final comparison is constant-time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tallyboard.access.principal import Principal, PrincipalKind
from tallyboard.access.tokens import CredentialKind, hash_secret, kind_of
from tallyboard.domain.audit import Actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import UnauthorizedError
from tallyboard.domain.usage import personal_token_label
from tallyboard.storage import credential_store as store
from tallyboard.storage.database import Database

__all__ = ["Authenticator", "IngestKey", "bearer_token"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestKey:
    pk: int
    name: str
    org_pk: int | None
    """None for an instance-wide key."""


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not authorization:
        raise UnauthorizedError
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise UnauthorizedError
    return token


class Authenticator:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def _expect(self, authorization: str | None, *kinds: CredentialKind) -> tuple[str, str]:
        token = bearer_token(authorization)
        kind = kind_of(token)
        if kind not in kinds:
            raise UnauthorizedError
        return kind.value, hash_secret(token)

    def principal(self, authorization: str | None) -> Principal:
        """A caller of the GraphQL API (service-account access token or personal token)."""
        prefix, digest = self._expect(
            authorization, CredentialKind.ACCESS_TOKEN, CredentialKind.PERSONAL_TOKEN
        )
        with self._db.read() as conn:
            if prefix == CredentialKind.ACCESS_TOKEN.value:
                access = store.find_access_token(conn, digest)
                if (
                    access is None
                    or access.account_revoked_at is not None
                    or not self._usable(access.expires_at, access.revoked_at)
                ):
                    raise UnauthorizedError
                return Principal(
                    kind=PrincipalKind.SERVICE_ACCOUNT,
                    pk=access.service_account_pk,
                    billing_org_pk=access.org_pk,
                    token_label=access.service_account_name,
                    credential_key=digest[:16],
                    tenancy_generation=access.tenancy_generation,
                )
            personal = store.find_personal_token(conn, digest)
        if (
            personal is None
            or not personal.billing_member  # its user left the billing organization
            or not self._usable(personal.expires_at, personal.revoked_at)
        ):
            raise UnauthorizedError
        return Principal(
            kind=PrincipalKind.USER,
            pk=personal.user_pk,
            billing_org_pk=personal.billing_org_pk,
            token_label=personal_token_label(personal.user_name, personal.name),
            credential_key=digest[:16],
            deprecated_credential=True,
            tenancy_generation=personal.tenancy_generation,
        )

    def _usable(self, expires_at: int | None, revoked_at: int | None) -> bool:
        now = int(self._clock.now().timestamp())
        return revoked_at is None and (expires_at is None or expires_at > now)

    def admin(self, authorization: str | None) -> int:
        """The pk of a valid instance admin token."""
        _, digest = self._expect(authorization, CredentialKind.ADMIN_TOKEN)
        with self._db.read() as conn:
            row = store.find_admin_token(conn, digest)
        if row is None or not self._usable(row.expires_at, row.revoked_at):
            raise UnauthorizedError
        return row.pk

    def admin_actor(self, authorization: str | None) -> Actor:
        """The audit log's actor of a valid instance admin token: its label (or its id,
        for a token without one), never the secret."""
        _, digest = self._expect(authorization, CredentialKind.ADMIN_TOKEN)
        with self._db.read() as conn:
            row = store.find_admin_token(conn, digest)
        if row is None or not self._usable(row.expires_at, row.revoked_at):
            raise UnauthorizedError
        return Actor("admin_token", row.label or f"admin token {row.pk}")

    def ingest_key(self, authorization: str | None) -> IngestKey:
        _, digest = self._expect(authorization, CredentialKind.INGEST_KEY)
        with self._db.read() as conn:
            row = store.find_ingest_key(conn, digest)
        if row is None or not self._usable(row.expires_at, row.revoked_at):
            raise UnauthorizedError
        return IngestKey(pk=row.pk, name=row.name, org_pk=row.org_pk)
