"""Roles and permissions.

Built-in roles are fixed by the contract; custom roles are a name plus a list of
permission strings. Only ``usage_stats`` means something to Tallyboard, but custom
roles may list the platform's other permissions too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import StrEnum

__all__ = [
    "BUILTIN_ROLES",
    "PERMISSION_PATTERN",
    "USAGE_STATS",
    "BuiltinRole",
    "permissions_of",
]

USAGE_STATS = "usage_stats"
PERMISSION_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


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
