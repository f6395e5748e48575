"""Instance admin tokens: mint, list and revoke (what ``tallyboard admin token`` does).

The command line is an edge like HTTP: it asks this service instead of writing to the
credential store itself, so the rules (the secret is shown once and only its hash is
stored, "revoked" wins over "expired", a revoked token cannot be revoked again) live
next to the authenticator that checks these tokens.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from tallyboard.access.tokens import CredentialKind, hash_secret, new_secret
from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.periods import format_datetime
from tallyboard.storage import audit_store, credential_store
from tallyboard.storage.database import Database

__all__ = ["AdminTokenState", "AdminTokenView", "AdminTokens"]


class AdminTokenState(enum.Enum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


_CREATE = "admin_token.create"
_REVOKE = "admin_token.revoke"


def _stamp(epoch: int | None) -> str | None:
    return None if epoch is None else format_datetime(_at(epoch))


def _at(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class AdminTokenView:
    """One admin token as an operator may see it: never its secret or hash."""

    pk: int
    label: str
    created_at: datetime
    state: AdminTokenState
    since: datetime | None
    """When it was revoked or expired (or, while active, when it will expire)."""


class AdminTokens:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock.now().timestamp())

    def mint(
        self, label: str, lifetime_seconds: int | None = None, actor: Actor | None = None
    ) -> str:
        """A new token, valid until revoked or for ``lifetime_seconds``; the secret is
        returned this once and only its hash is stored (the audit entry names the
        token by id and label)."""
        token = new_secret(CredentialKind.ADMIN_TOKEN)
        now = self._now()
        expires_at = now + lifetime_seconds if lifetime_seconds else None
        with self._db.write() as conn:
            pk = credential_store.insert_admin_token(
                conn, hash_secret(token), label, now, expires_at
            )
            details = {"tokenId": pk, "label": label, "expiresAt": _stamp(expires_at)}
            audit_store.append(
                conn, self._clock.now(), actor or operating_system_actor(), _CREATE, details
            )
        return token

    def tokens(self) -> list[AdminTokenView]:
        """Every admin token, oldest first, with its state now."""
        now = self._now()
        with self._db.read() as conn:
            rows = credential_store.admin_tokens(conn)
        views: list[AdminTokenView] = []
        for row in rows:
            since: datetime | None
            if row.revoked_at is not None:
                state, since = AdminTokenState.REVOKED, _at(row.revoked_at)
            elif row.expires_at is not None and row.expires_at <= now:
                state, since = AdminTokenState.EXPIRED, _at(row.expires_at)
            else:
                state = AdminTokenState.ACTIVE
                since = _at(row.expires_at) if row.expires_at is not None else None
            views.append(AdminTokenView(row.pk, row.label, _at(row.created_at), state, since))
        return views

    def revoke(self, token_id: int, actor: Actor | None = None) -> bool:
        """True when an active (not yet revoked) token was revoked now (and audited)."""
        with self._db.write() as conn:
            revoked = credential_store.revoke_admin_token(conn, token_id, self._now())
            if revoked:
                who = actor or operating_system_actor()
                audit_store.append(conn, self._clock.now(), who, _REVOKE, {"tokenId": token_id})
            return revoked
