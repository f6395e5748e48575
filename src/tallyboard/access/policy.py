"""The policy: may principal P do action A in organization O?

This module is the only place that decision is made. It reads the principal's role in
each organization (membership for users, the account's own role for service
accounts) and applies the rules below. An organization that does not exist and one the
caller may not see are indistinguishable: both are simply absent from every answer,
and single-organization checks raise the same :class:`PermissionDeniedError`.

| action                    | allowed when the role in the organization...       |
|---------------------------|----------------------------------------------------|
| VIEW_ORGANIZATION         | exists (the caller is a member)                    |
| VIEW_USAGE_STATS          | grants ``usage_stats`` (super_admin, admin, custom)|
| VIEW_AI_CREDIT_DETAILS    | is ``super_admin``                                 |
| VIEW_USAGE_DETAILS        | is ``super_admin`` (automations, agents: spec §9)  |
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from typing import Any

from tallyboard.access.principal import Principal, PrincipalKind
from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.errors import PermissionDeniedError
from tallyboard.domain.organization import OrgRef
from tallyboard.domain.roles import USAGE_STATS, BuiltinRole, permissions_of
from tallyboard.storage import tenancy_store as store
from tallyboard.storage.database import Database
from tallyboard.storage.tenancy_store import RoleGrant

__all__ = ["Action", "Policy", "allows"]


class Action(StrEnum):
    VIEW_ORGANIZATION = "view_organization"
    VIEW_USAGE_STATS = "view_usage_stats"
    VIEW_AI_CREDIT_DETAILS = "view_ai_credit_details"
    VIEW_USAGE_DETAILS = "view_usage_details"


def allows(action: Action, grant: RoleGrant) -> bool:
    if action is Action.VIEW_ORGANIZATION:
        return True
    if action is Action.VIEW_USAGE_STATS:
        return USAGE_STATS in permissions_of(grant.role, grant.custom_permissions)
    return grant.role == BuiltinRole.SUPER_ADMIN


_CACHED_GRANTS = 4096
"""Grant lookups (and decisions) remembered per process."""


class Policy:
    """Decides from the principal's grants, read from the database -- or remembered.

    Grants are remembered per process under the tenancy generation the request's
    credential lookup just read (``storage.tenancy_store.TENANCY_GENERATION``); every
    ``admin apply`` writes a new generation in its own transaction, so a removed
    membership or a changed role is honoured by the very next request of every process,
    exactly as if nothing were cached (decision 0009).
    """

    def __init__(self, database: Database, *, cached_grants: int = _CACHED_GRANTS) -> None:
        self._db = database
        # Both memos are stamped with the tenancy generation: an apply's new generation
        # makes every entry of the old one answer nothing (decision 0017). Read with
        # peeks (every request reads them; no lock, no reordering), so when full the
        # entry written longest ago goes first.
        self._remembered: BoundedCache[tuple[Any, ...], list[RoleGrant]] = BoundedCache(
            cached_grants
        )
        self._decided: BoundedCache[tuple[Any, ...], dict[str, OrgRef]] = BoundedCache(
            cached_grants
        )

    def _grants(
        self,
        principal: Principal,
        *,
        org_uuids: Collection[str] | None = None,
        org_id: str | None = None,
    ) -> list[RoleGrant]:
        generation = principal.tenancy_generation
        if generation is None:
            return self._read_grants(principal, org_uuids=org_uuids, org_id=org_id)
        key = (
            principal.kind,
            principal.pk,
            None if org_uuids is None else tuple(org_uuids),
            org_id,
        )
        grants = self._remembered.peek_current(key, generation)
        if grants is None:
            grants = self._read_grants(principal, org_uuids=org_uuids, org_id=org_id)
            self._remembered.put_current(key, generation, grants)
        return list(grants)

    def _read_grants(
        self,
        principal: Principal,
        *,
        org_uuids: Collection[str] | None = None,
        org_id: str | None = None,
    ) -> list[RoleGrant]:
        with self._db.read() as conn:
            if principal.kind is PrincipalKind.SERVICE_ACCOUNT:
                return store.grants_of_service_account(
                    conn, principal.pk, org_uuids=org_uuids, org_id=org_id
                )
            return store.grants_of_user(conn, principal.pk, org_uuids=org_uuids, org_id=org_id)

    def require(self, principal: Principal, action: Action, org_uuid: str) -> OrgRef:
        """The organization if allowed; otherwise the same denial as for an unknown one."""
        for grant in self._grants(principal, org_uuids=(org_uuid,)):
            if allows(action, grant):
                return grant.org
        raise PermissionDeniedError

    def role_in(self, principal: Principal, org_uuid: str) -> str | None:
        """The principal's role in the organization (a built-in or custom role's name)."""
        for grant in self._grants(principal, org_uuids=(org_uuid,)):
            return grant.role
        return None

    def require_by_id(self, principal: Principal, action: Action, org_id: str) -> OrgRef:
        for grant in self._grants(principal, org_id=org_id):
            if allows(action, grant):
                return grant.org
        raise PermissionDeniedError

    def permitted(
        self, principal: Principal, action: Action, org_uuids: Collection[str]
    ) -> dict[str, OrgRef]:
        """The subset of ``org_uuids`` the principal may act on, keyed by UUID."""
        if not org_uuids:
            return {}
        generation = principal.tenancy_generation
        key: tuple[Any, ...] | None = None
        if generation is not None:
            key = (principal.kind, principal.pk, action, tuple(org_uuids))
            decided = self._decided.peek_current(key, generation)
            if decided is not None:
                return dict(decided)
        grants = self._grants(principal, org_uuids=org_uuids)
        permitted = {g.org.uuid: g.org for g in grants if allows(action, g)}
        if key is not None:
            self._decided.put_current(key, generation, permitted)
        return dict(permitted)

    def all_permitted(self, principal: Principal, action: Action) -> list[OrgRef]:
        """Every organization the principal may act on, ordered by name (then id)."""
        grants = self._grants(principal)
        return sorted((g.org for g in grants if allows(action, g)), key=lambda o: (o.name, o.id))
