"""The fields public clients read with an organization (spec §9): ``planName`` (in
effect this month; null when unset), ``role`` (the caller's role there: a built-in
role's name, a custom role's name, a service account's role), ``membersCount`` (users
with a membership, not service accounts), ``pipesCount`` (catalog pipes) and
``createdAt`` (when it was first applied). Read only when a document selects them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tallyboard.domain.organization import OrgRef, settings_at
from tallyboard.domain.periods import Month
from tallyboard.storage import tenancy_store
from tallyboard.storage.database import Database
from tallyboard.storage.organization_profile_reader import profile_counts

__all__ = ["OrganizationProfile", "read_profile"]


@dataclass(frozen=True, slots=True)
class OrganizationProfile:
    plan_name: str | None
    role: str | None
    members_count: int
    pipes_count: int
    created_at: datetime


def read_profile(
    database: Database, org: OrgRef, role: str | None, now: datetime
) -> OrganizationProfile:
    with database.read() as conn:
        entries = tenancy_store.settings_entries(conn, [org.pk]).get(org.pk, [])
        members, pipe_count, created = profile_counts(conn, org.pk)
    settings = settings_at(entries, Month.of(now.astimezone(UTC).date()))
    return OrganizationProfile(
        plan_name=settings.plan_name,
        role=role,
        members_count=members,
        pipes_count=pipe_count,
        created_at=datetime.fromtimestamp(created, UTC),
    )
