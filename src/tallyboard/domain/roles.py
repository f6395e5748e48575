"""Roles and permissions.

Built-in roles are fixed by the contract; custom roles are a name plus a list of
permissions drawn from :data:`KNOWN_PERMISSIONS`. A permission Tallyboard does not know
is refused when a document is applied: a misspelt ``usage_stat`` or an invented
``god_mode`` would otherwise be stored and silently grant nothing (or, worse, be read
one day by a feature that does know the name). A custom role that grants nothing
here lists no permissions (``permissions: []``).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "BUILTIN_ROLES",
    "KNOWN_PERMISSIONS",
    "USAGE_STATS",
    "BuiltinRole",
    "permissions_of",
    "unknown_permission_reason",
]

USAGE_STATS = "usage_stats"
"""Read usage statistics of the organization (the contract's only permission)."""

KNOWN_PERMISSIONS: frozenset[str] = frozenset({USAGE_STATS})
"""Every permission a custom role may list; add a name here when a feature reads it."""


class BuiltinRole(StrEnum):
    SUPER_ADMIN = "super_admin"
    ADMIN = "admin"
    MEMBER = "member"
    COMPANY_GUEST = "company_guest"
    EXTERNAL_GUEST = "external_guest"


BUILTIN_ROLES: dict[str, frozenset[str]] = {
    BuiltinRole.SUPER_ADMIN: frozenset({USAGE_STATS}),
    BuiltinRole.ADMIN: frozenset({USAGE_STATS}),
    BuiltinRole.MEMBER: frozenset(),
    BuiltinRole.COMPANY_GUEST: frozenset(),
    BuiltinRole.EXTERNAL_GUEST: frozenset(),
}


def permissions_of(role: str, custom_permissions: Iterable[str] | None) -> frozenset[str]:
    """Permissions granted by ``role``; ``custom_permissions`` is used for custom roles."""
    builtin = BUILTIN_ROLES.get(role)
    if builtin is not None:
        return builtin
    return frozenset(custom_permissions or ())


def unknown_permission_reason(permission: str) -> str | None:
    """Why ``permission`` cannot be listed by a custom role (None: it can)."""
    if permission in KNOWN_PERMISSIONS:
        return None
    known = ", ".join(sorted(KNOWN_PERMISSIONS))
    return f"unknown permission {permission!r}; the known permissions are: {known}"
