"""The demo's tenancy document (docs/admin-apply.md), built from the cast in ``world``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from tallyboard.demo.automations import catalog_document, with_plan
from tallyboard.demo.world import (
    ORGANIZATIONS,
    SERVICE_ACCOUNTS,
    USERS,
    OrgProfile,
    ServiceAccount,
    User,
)
from tallyboard.domain.periods import Month

__all__ = ["DEMO_INGEST_KEY", "demo_document"]

DEMO_INGEST_KEY = "demo-gateway"


def _organization(org: OrgProfile, this_month: Month, today: date) -> dict[str, Any]:
    document: dict[str, Any] = {"id": org.id, "uuid": org.uuid, "name": org.name}
    document.update(catalog_document(org.id, today))
    settings = [
        {"effectiveFrom": str(this_month.shift(-change.months_ago)), **change.values}
        for change in org.settings
    ]
    with_plan(org.id, settings, str(this_month.shift(-3)))
    if settings:
        document["settings"] = settings
    if org.roles:
        document["roles"] = [dict(role) for role in org.roles]
    if org.agents:
        document["agents"] = [
            {"id": agent.id, "name": agent.name, "deleted": agent.deleted} for agent in org.agents
        ]
    catalog = [flow for flow in org.flows if flow.in_catalog]
    if catalog:
        document["flows"] = [
            {
                "id": flow.id,
                "name": flow.name,
                "status": flow.status,
                "project": flow.project.as_document(),
            }
            for flow in catalog
        ]
    return document


def _user(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "name": user.name,
        "memberships": [{"organization": org, "role": role} for org, role in user.memberships],
        "personalTokens": [{"name": name, "billingOrganization": org} for name, org in user.tokens],
    }


def _service_accounts(accounts: Iterable[ServiceAccount]) -> list[dict[str, Any]]:
    documents = []
    for account in accounts:
        document = {
            "organization": account.organization,
            "name": account.name,
            "role": account.role,
            "tokenLifetime": account.lifetime,
        }
        if account.description is not None:
            document["description"] = account.description
        documents.append(document)
    return documents


def demo_document(today: date) -> dict[str, Any]:
    """The whole tenancy, with settings dated relative to ``today``'s month."""
    this_month = Month.of(today)
    return {
        "organizations": [_organization(org, this_month, today) for org in ORGANIZATIONS],
        "users": [_user(user) for user in USERS],
        "serviceAccounts": _service_accounts(SERVICE_ACCOUNTS),
        "ingestKeys": [{"name": DEMO_INGEST_KEY}],
    }
