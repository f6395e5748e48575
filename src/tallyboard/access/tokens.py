"""Secret formats, generation and hashing.

Every secret carries a prefix naming its kind (so a leaked string is recognisable and
a token of the wrong kind is refused before any lookup) followed by 256 bits from the
OS CSPRNG. Only SHA-256 hashes are stored: a database dump reveals no usable secret.
Plain SHA-256 (not a slow KDF) is right here because the secrets are random, not
passwords; it also keeps authentication cheap on the request path.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import StrEnum

__all__ = ["CredentialKind", "hash_secret", "kind_of", "new_client_id", "new_secret", "same_hash"]


class CredentialKind(StrEnum):
    # Prefixes, not secrets (ruff S105 would flag each line otherwise).
    ACCESS_TOKEN = "tb_sat_"  # noqa: S105 - service-account access token (OAuth client credentials)
    PERSONAL_TOKEN = "tb_pat_"  # noqa: S105 - personal access token (deprecated)
    INGEST_KEY = "tb_ing_"  # ingest endpoint only
    ADMIN_TOKEN = "tb_adm_"  # noqa: S105 - instance administration only
    CLIENT_SECRET = "tb_cs_"  # noqa: S105 - a service account's OAuth client secret


_ENTROPY_BYTES = 32  # 256 bits
_MAX_SECRET_LENGTH = 128


def new_secret(kind: CredentialKind) -> str:
    return f"{kind.value}{secrets.token_urlsafe(_ENTROPY_BYTES)}"


def new_client_id() -> str:
    """Client ids are identifiers, not secrets; 128 bits keeps them unguessable anyway."""
    return f"tbc_{secrets.token_hex(16)}"


def kind_of(secret: str) -> CredentialKind | None:
    if len(secret) > _MAX_SECRET_LENGTH:
        return None
    for kind in CredentialKind:
        if secret.startswith(kind.value) and len(secret) > len(kind.value):
            return kind
    return None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    """Constant-time comparison of two hex digests."""
    return hmac.compare_digest(a.encode(), b.encode())
