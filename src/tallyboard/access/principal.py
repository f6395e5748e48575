"""The authenticated caller of the GraphQL API."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tallyboard.domain.audit import Actor

__all__ = ["Principal", "PrincipalKind"]


class PrincipalKind(StrEnum):
    SERVICE_ACCOUNT = "service_account"
    USER = "user"


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    pk: int
    """Service-account pk or user pk, depending on ``kind``."""
    billing_org_pk: int
    """Organization that API calls made with this credential are attributed to."""
    token_label: str
    """How this credential appears in the ``token`` dimension."""
    credential_key: str
    """Stable per-credential key (a hash prefix) for logs."""
    deprecated_credential: bool = False
    """True for personal access tokens: responses carry a deprecation warning."""
    tenancy_generation: str | None = None
    """The tenancy generation read with the credential (None: grants are not cached)."""

    @property
    def rate_key(self) -> str:
        """What request limits count by: the principal, whichever of its credentials it
        presents (a freshly minted access token shares its account's bucket)."""
        return f"{self.kind.value}:{self.pk}"

    @property
    def actor(self) -> Actor:
        """Who this caller is in the audit log: the credential's kind and name (the
        service account's name, or the personal token's ``user - token`` label), never
        a secret."""
        if self.kind is PrincipalKind.SERVICE_ACCOUNT:
            return Actor("service_account", self.token_label)
        return Actor("personal_token", self.token_label)
