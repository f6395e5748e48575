"""Tenancy documents for tests, with ids unique per call so tests never collide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RoleMatrix", "role_matrix_document"]

ROLES = (
    "super_admin",
    "admin",
    "member",
    "company_guest",
    "external_guest",
    "Finance viewer",
    "Auditor",
)


@dataclass
class RoleMatrix:
    """Organizations A and B, one user and one service account per role in A."""

    document: dict[str, Any]
    org_a: dict[str, str]
    org_b: dict[str, str]
    org_c: dict[str, str]
    users: dict[str, str] = field(default_factory=dict)
    """role -> e-mail of the user holding it in A."""
    accounts: dict[str, str] = field(default_factory=dict)
    """role -> service-account name holding it in A."""


def _org(name: str) -> dict[str, str]:
    return {"id": str(uuid.uuid4().int % 10**9), "uuid": str(uuid.uuid4()), "name": name}


def role_matrix_document() -> RoleMatrix:
    suffix = uuid.uuid4().hex[:6]
    a, b, c = _org(f"Acme {suffix}"), _org(f"Beta {suffix}"), _org(f"Gamma {suffix}")
    matrix = RoleMatrix(document={}, org_a=a, org_b=b, org_c=c)
    users = []
    accounts = []
    for index, role in enumerate(ROLES):
        email = f"user{index}-{suffix}@example.test"
        matrix.users[role] = email
        memberships = [{"organization": a["id"], "role": role}]
        if role == "super_admin":
            memberships.append({"organization": b["id"], "role": "member"})
        users.append(
            {
                "email": email,
                "name": f"User {role}",
                "memberships": memberships,
                "personalTokens": [{"name": "laptop", "billingOrganization": a["id"]}],
            }
        )
        account = f"sa{index}-{suffix}"[:20]
        matrix.accounts[role] = account
        accounts.append(
            {"organization": a["id"], "name": account, "role": role, "tokenLifetime": "1h"}
        )
    accounts.append(
        {"organization": b["id"], "name": f"sab-{suffix}", "role": "admin", "tokenLifetime": "1h"}
    )
    matrix.document = {
        "organizations": [
            {
                **a,
                "roles": [
                    {"name": "Finance viewer", "permissions": ["usage_stats"]},
                    {"name": "Auditor", "permissions": []},
                ],
            },
            b,
            c,
        ],
        "users": users,
        "serviceAccounts": accounts,
    }
    return matrix
