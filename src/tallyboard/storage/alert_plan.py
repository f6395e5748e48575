"""What alert detection needs to know, read once per tenancy generation (spec §10).

The organizations with an allowance set in some month, their settings history and
effective rule, and the active webhooks: ``storage/alert_detector.py`` keeps the plan
of the current generation and reads it again only when ``admin apply`` raised it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Connection

from tallyboard.domain.alerts import RESOURCES, AlertRule, effective_rule
from tallyboard.domain.organization import OrganizationSettings, SettingsEntry, settings_at
from tallyboard.domain.periods import Month
from tallyboard.storage import alert_store, tenancy_store
from tallyboard.storage import tables as t
from tallyboard.storage.alert_store import StoredWebhook

__all__ = ["OrgPlan", "Plan", "read_plan"]


@dataclass(frozen=True, slots=True)
class OrgPlan:
    org_id: str
    uuid: str
    name: str
    entries: tuple[SettingsEntry, ...]
    rule: AlertRule
    _months: dict[str, OrganizationSettings] = field(
        default_factory=dict, compare=False, repr=False
    )

    def settings(self, month: str) -> OrganizationSettings:
        """The settings in effect in ``month``, resolved once per plan."""
        found = self._months.get(month)
        if found is None:
            found = self._months[month] = settings_at(self.entries, Month.parse(month))
        return found


@dataclass(frozen=True, slots=True)
class Plan:
    orgs: Mapping[int, OrgPlan]
    webhooks: tuple[StoredWebhook, ...]


def read_plan(conn: Connection) -> Plan:
    """Organizations with an allowance set in some month and a rule that watches something
    (a threshold or the forecast), with what detection needs."""
    settings = t.organization_settings
    pks = list(conn.execute(select(settings.c.org_pk).distinct()).scalars())
    entries = tenancy_store.settings_entries(conn, pks)
    fields = {r.allowance_field for r in RESOURCES}
    with_allowance = {
        pk: history
        for pk, history in entries.items()
        if any(e.changes.get(f) for e in history for f in fields)
    }
    instance, overrides = alert_store.rules(conn)
    ids = tenancy_store.orgs_by_pk(conn, list(with_allowance))
    rules = {pk: effective_rule(instance, overrides.get(pk)) for pk in with_allowance}
    # An organization whose rule watches nothing costs its writes nothing: an apply that
    # turns its alerts on raises the generation, and its sweep fires what is reached.
    orgs = {
        pk: OrgPlan(ids[pk].id, ids[pk].uuid, ids[pk].name, tuple(history), rules[pk])
        for pk, history in with_allowance.items()
        if pk in ids and (rules[pk].thresholds or rules[pk].forecast)
    }
    hooks = tuple(alert_store.webhooks(conn, active_only=True).values())
    return Plan(orgs, hooks)
