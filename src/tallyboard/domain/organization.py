"""Organizations and their effective-dated settings.

A settings entry takes effect from a month on. Fields an entry omits keep the value in
effect before it; an explicit null unsets. Resolution is a left fold over the entries
in month order, so the stored entries stay exactly what the administrator wrote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from tallyboard.domain.periods import Month

__all__ = [
    "SETTINGS_FIELDS",
    "OrgRef",
    "OrganizationSettings",
    "SettingsEntry",
    "period_limit",
    "settings_at",
]


@dataclass(frozen=True, slots=True)
class OrgRef:
    """The identity of an organization as every service passes it around."""

    pk: int
    id: str
    uuid: str
    name: str


@dataclass(frozen=True, slots=True)
class OrganizationSettings:
    """Everything in effect for one month. Credit amounts are micro-credits."""

    api_calls: int | None = None
    integration_tasks: int | None = None
    ai_credits: int | None = None
    ai_credit_addon: bool = False
    free_ai_credits: int | None = None
    ai_automation_enabled: bool = False
    assistants_enabled: bool = False
    automation_jobs: int | None = None
    plan_name: str | None = None


# Public (document) name -> attribute name. Booleans cannot be "unset": null resets them
# to their default, false.
SETTINGS_FIELDS: dict[str, str] = {
    "apiCalls": "api_calls",
    "integrationTasks": "integration_tasks",
    "aiCredits": "ai_credits",
    "aiCreditAddon": "ai_credit_addon",
    "freeAiCredits": "free_ai_credits",
    "aiAutomationEnabled": "ai_automation_enabled",
    "assistantsEnabled": "assistants_enabled",
    "automationJobs": "automation_jobs",
    "planName": "plan_name",
}
_BOOLEAN_FIELDS = frozenset({"ai_credit_addon", "ai_automation_enabled", "assistants_enabled"})


@dataclass(frozen=True, slots=True)
class SettingsEntry:
    """What one settings entry changes, keyed by attribute name (None = unset)."""

    effective_from: Month
    changes: Mapping[str, Any]


def settings_at(entries: Iterable[SettingsEntry], month: Month) -> OrganizationSettings:
    """The settings in effect during ``month``."""
    current = OrganizationSettings()
    for entry in sorted(entries, key=lambda e: e.effective_from):
        if entry.effective_from > month:
            break
        values: dict[str, Any] = {
            name: (False if value is None and name in _BOOLEAN_FIELDS else value)
            for name, value in entry.changes.items()
        }
        current = replace(current, **values)
    return current


def period_limit(
    entries: Sequence[SettingsEntry], months: Iterable[Month], field: str
) -> int | None:
    """Sum of a monthly allowance over ``months``; None when it is unset in every month."""
    total = 0
    any_set = False
    for month in months:
        value = getattr(settings_at(entries, month), field)
        if value is not None:
            total += value
            any_set = True
    return total if any_set else None
