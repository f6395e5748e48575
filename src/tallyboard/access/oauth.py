"""OAuth 2.0 client-credentials grant (RFC 6749 §4.4) for service accounts.

Each service account has a token lifetime fixed at creation (5 minutes to 30 days);
every token it obtains lives exactly that long. The client secret is checked in
constant time, and an unknown client costs the same hash work as a known one.
"""

from __future__ import annotations

from dataclasses import dataclass

from tallyboard.access.tokens import CredentialKind, hash_secret, new_secret, same_hash
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import OAuthError  # one error tree; re-exported for callers
from tallyboard.domain.text import character_problem
from tallyboard.storage import credential_store as store
from tallyboard.storage.database import Database

__all__ = ["IssuedToken", "OAuthError", "OAuthService"]

_DUMMY_HASH = hash_secret("tb_cs_not-a-real-secret")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int


class OAuthService:
    def __init__(self, database: Database, clock: Clock, max_live_tokens: int = 100) -> None:
        self._db = database
        self._clock = clock
        # Live access tokens per service account: minting one more revokes the oldest,
        # so a client that mints per request keeps working and storage stays bounded
        # (dead tokens are then deleted by access.token_pruner).
        self._max_live_tokens = max_live_tokens

    def issue(
        self, grant_type: str | None, client_id: str | None, secret: str | None
    ) -> IssuedToken:
        if not grant_type:
            raise OAuthError("invalid_request", "grant_type is required")
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type", "only grant_type=client_credentials is supported"
            )
        if not client_id or not secret:
            raise OAuthError("invalid_client", "client_id and client_secret are required")
        if character_problem(client_id) is not None:  # PostgreSQL cannot even look it up
            raise OAuthError("invalid_request", "client_id must not contain control characters")
        presented = hash_secret(secret)
        with self._db.write() as conn:
            account = store.find_service_account_by_client_id(conn, client_id)
            expected = account.client_secret_hash if account else _DUMMY_HASH
            if not same_hash(presented, expected) or account is None or account.revoked_at:
                raise OAuthError("invalid_client", "client authentication failed")
            token = new_secret(CredentialKind.ACCESS_TOKEN)
            now = int(self._clock.now().timestamp())
            lifetime = account.token_lifetime_seconds
            store.insert_access_token(conn, account.pk, hash_secret(token), now, now + lifetime)
            store.revoke_older_access_tokens(conn, account.pk, self._max_live_tokens, now)
        return IssuedToken(access_token=token, expires_in=lifetime)
