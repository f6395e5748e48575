"""Allowances and flags in effect for a period, read once per query."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from tallyboard.domain.organization import (
    OrganizationSettings,
    SettingsEntry,
    period_limit,
    settings_at,
)
from tallyboard.domain.periods import Month, PeriodWindow
from tallyboard.storage import tenancy_store
from tallyboard.storage.database import Database

__all__ = ["Allowances", "OrgAllowances"]


class OrgAllowances:
    """One organization's settings history, answering per-month and per-period questions."""

    def __init__(self, entries: Sequence[SettingsEntry]) -> None:
        self._entries = list(entries)

    def limit(self, window: PeriodWindow, field: str) -> int | None:
        """Sum of the monthly allowance over the period's months; None if never set."""
        return period_limit(self._entries, window.months, field)

    def monthly(self, month: Month, field: str) -> int | None:
        value: int | None = getattr(settings_at(self._entries, month), field)
        return value

    def at_end_of(self, window: PeriodWindow) -> OrganizationSettings:
        """Flags and free allotments are those in effect in the period's last month."""
        return settings_at(self._entries, window.last_month)


class Allowances:
    def __init__(self, database: Database) -> None:
        self._db = database

    def for_organizations(self, org_pks: Collection[int]) -> Mapping[int, OrgAllowances]:
        with self._db.read() as conn:
            entries = tenancy_store.settings_entries(conn, org_pks)
        return {pk: OrgAllowances(entries.get(pk, [])) for pk in org_pks}

    def for_organization(self, org_pk: int) -> OrgAllowances:
        return self.for_organizations([org_pk])[org_pk]
