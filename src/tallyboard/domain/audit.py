"""The audit log's vocabulary: who acted (never a secret) and what an entry holds.

An entry names its actor by the credential's kind and name -- an admin token by its
label, a command run against the database by the operating-system user -- so the log
tells who did what without ever holding anything that grants access.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ACTIONS", "Actor", "AuditEntry", "AuditPage", "operating_system_actor"]

ACTIONS = (
    "apply",
    "admin_token.create",
    "admin_token.revoke",
    "backfill",
    "correction.void",
    "correction.adjust",
    "verify.repair",
    "month.close",
    "month.reopen",
    "metering.late",
    "export.create",
    "export.download",
    "webhook.redeliver",
)
"""Every action the contract names (section 11), in its order."""


@dataclass(frozen=True, slots=True)
class Actor:
    kind: str
    """``admin_token``, ``service_account``, ``personal_token`` or ``cli``."""
    name: str


def operating_system_actor() -> Actor:
    """The actor of a command run straight against the database: the OS user."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        user = "unknown"
    return Actor("cli", user)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at_ms: int
    """When, in epoch milliseconds."""
    actor: Actor
    action: str
    organization: str | None
    """The organization's uuid, or None for an instance-wide action."""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditPage:
    entries: list[AuditEntry]
    has_next_page: bool
    end_cursor: str | None
