"""Applies a validated tenancy document in one transaction.

The rules (documented for operators in ``docs/admin-apply.md``):
- Entities are matched by their keys and created or updated; nothing is deleted by
  omission. Listing an entity again with the same values changes nothing and creates
  no new secret.
- A nested list that is *present* is authoritative for a user's ``memberships`` and an
  organization's custom ``roles`` (so removing a membership takes effect at once);
  ``settings``, ``agents``, ``flows`` and ``personalTokens`` are only ever upserted.
- Credentials: a listed credential with no active secret gets a new one (first
  creation, or rotation after a revocation); ``revoke`` wins over a listing.
- Every cross-reference is checked against the document and the database together,
  and every problem is reported at once; if there is any, nothing is written.
"""

from __future__ import annotations

import uuid as uuidlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.access.tokens import CredentialKind, hash_secret, new_client_id, new_secret
from tallyboard.admin.document import Document, Organization, User
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Month
from tallyboard.domain.roles import BUILTIN_ROLES
from tallyboard.storage import admin_store as store
from tallyboard.storage.catalog_store import attribute_time_column
from tallyboard.storage.database import Database
from tallyboard.storage.tenancy_store import bump_generation

__all__ = ["Applier", "ApplyResult"]

_STATED = ("name", "project_id", "icon", "color")
"""Catalog attributes ranked by the time of the fact that set them (domain/catalog.py)."""
_APPLY_LOCK = (0, 1)  # advisory lock key: one application at a time per instance


@dataclass
class ApplyResult:
    service_accounts: list[dict[str, str]] = field(default_factory=list)
    personal_tokens: list[dict[str, str]] = field(default_factory=list)
    ingest_keys: list[dict[str, str]] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)

    def secrets(self) -> dict[str, list[dict[str, str]]]:
        """The contract's output: secrets created by this application, shown once."""
        return {
            "serviceAccounts": self.service_accounts,
            "personalTokens": self.personal_tokens,
            "ingestKeys": self.ingest_keys,
        }

    def summary(self) -> str:
        if not self.changes:
            return "No changes: the database already matches the document."
        return ", ".join(f"{n} {what}" for what, n in sorted(self.changes.items()))


class Applier:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def apply(self, document: Document) -> ApplyResult:
        now = self._clock.now()
        with self._db.write() as conn:
            self._db.dialect.lock(conn, *_APPLY_LOCK)
            run = _Run(conn, document, int(now.timestamp()), Month.of(now.date()))
            run.validate()
            run.execute()
            return run.result


def _duplicates(keys: Iterable[Any]) -> dict[int, int]:
    """index -> index of the first occurrence, for every repeated key."""
    first: dict[Any, int] = {}
    repeats: dict[int, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            repeats[index] = first[key]
        else:
            first[key] = index
    return repeats


class _Run:
    """One application: validation against document + database, then the writes."""

    def __init__(self, conn: Connection, doc: Document, now: int, month: Month) -> None:
        self.conn = conn
        self.doc = doc
        self.now = now
        self.now_ms = now * 1000
        self.month = month
        self.problems: list[Problem] = []
        self.result = ApplyResult()

        existing = store.all_orgs(conn)
        self.org_by_id = {o.id: o for o in existing}
        self.org_by_uuid = {o.uuid: o for o in existing}
        self.doc_orgs = {o.id: o for o in doc.organizations}
        self.org_pk: dict[str, int] = {o.id: o.pk for o in existing}
        self.db_roles = store.custom_roles(conn, [o.pk for o in existing])
        emails = {u.email for u in doc.users} | {r.user for r in doc.revoke.personal_tokens}
        self.users = store.users_by_email(conn, emails)
        self.db_memberships = store.memberships_of_users(conn, [u.pk for u in self.users.values()])
        self.accounts = store.service_accounts(conn)
        self.ingest_keys = store.active_ingest_keys(conn)
        self.token_names = store.personal_token_names(conn, [u.pk for u in self.users.values()])

    def problem(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    # ============================================================ validation

    def org_known(self, org_id: str) -> bool:
        return org_id in self.doc_orgs or org_id in self.org_by_id

    def final_roles(self, org_id: str) -> set[str]:
        doc_org = self.doc_orgs.get(org_id)
        if doc_org is not None and doc_org.roles is not None:
            return {r.name for r in doc_org.roles}
        existing = self.org_by_id.get(org_id)
        return set(self.db_roles.get(existing.pk, {})) if existing else set()

    def role_valid(self, org_id: str, role: str) -> bool:
        return role in BUILTIN_ROLES or role in self.final_roles(org_id)

    def final_membership_orgs(self, user: User) -> set[str]:
        if user.memberships is not None:
            return {m.organization for m in user.memberships}
        existing = self.users.get(user.email)
        if existing is None:
            return set()
        ids = {o.pk: o.id for o in self.org_by_id.values()}
        return {ids[pk] for pk in self.db_memberships.get(existing.pk, {}) if pk in ids}

    def validate(self) -> None:
        self._validate_organizations()
        self._validate_users()
        self._validate_role_removals()
        self._validate_service_accounts()
        self._validate_ingest_keys()
        self._validate_revocations()
        if self.problems:
            raise InvalidInputError(self.problems)

    def _validate_organizations(self) -> None:
        orgs = self.doc.organizations
        for index, first in _duplicates(o.id for o in orgs).items():
            self.problem(f"organizations[{index}].id", f"duplicate of organizations[{first}]")
        given = [(i, o.uuid) for i, o in enumerate(orgs) if o.uuid]
        for index, first in _duplicates(u for _, u in given).items():
            self.problem(
                f"organizations[{given[index][0]}].uuid",
                f"duplicate of organizations[{given[first][0]}].uuid",
            )
        for index, org in enumerate(orgs):
            path = f"organizations[{index}]"
            existing = self.org_by_id.get(org.id)
            if org.uuid:
                if existing is not None and existing.uuid != org.uuid:
                    self.problem(
                        f"{path}.uuid",
                        f"organization {org.id} already has uuid {existing.uuid}; it cannot change",
                    )
                holder = self.org_by_uuid.get(org.uuid)
                if holder is not None and holder.id != org.id:
                    self.problem(f"{path}.uuid", f"already used by organization {holder.id}")
            self._validate_org_children(path, org)

    def _validate_org_children(self, path: str, org: Organization) -> None:
        if org.settings is not None:
            months = [s.effective_from or str(self.month) for s in org.settings]
            for index, first in _duplicates(months).items():
                self.problem(
                    f"{path}.settings[{index}].effectiveFrom",
                    f"{months[index]} is also set by settings[{first}]",
                )
        if org.roles is not None:
            for index, first in _duplicates(r.name for r in org.roles).items():
                self.problem(f"{path}.roles[{index}].name", f"duplicate of roles[{first}]")
            for index, role in enumerate(org.roles):
                if role.name in BUILTIN_ROLES:
                    self.problem(
                        f"{path}.roles[{index}].name",
                        f"{role.name!r} is a built-in role; custom roles need another name",
                    )
        for kind, items in (("agents", org.agents), ("flows", org.flows)):
            for index, first in _duplicates(i.id for i in items or ()).items():
                self.problem(f"{path}.{kind}[{index}].id", f"duplicate of {kind}[{first}]")

    def _validate_users(self) -> None:
        for index, first in _duplicates(u.email for u in self.doc.users).items():
            self.problem(f"users[{index}].email", f"duplicate of users[{first}]")
        for index, user in enumerate(self.doc.users):
            path = f"users[{index}]"
            for m_index, membership in enumerate(user.memberships or ()):
                m_path = f"{path}.memberships[{m_index}]"
                if not self.org_known(membership.organization):
                    self.problem(
                        f"{m_path}.organization",
                        f"unknown organization {membership.organization!r}",
                    )
                elif not self.role_valid(membership.organization, membership.role):
                    self.problem(
                        f"{m_path}.role",
                        f"{membership.role!r} is neither a built-in role nor a custom role of "
                        f"organization {membership.organization}",
                    )
            orgs = [m.organization for m in user.memberships or ()]
            for m_index, first in _duplicates(orgs).items():
                self.problem(
                    f"{path}.memberships[{m_index}].organization",
                    f"duplicate of memberships[{first}] (one role per organization)",
                )
            member_of = self.final_membership_orgs(user)
            tokens = user.personal_tokens or ()
            for t_index, first in _duplicates(t.name for t in tokens).items():
                self.problem(f"{path}.personalTokens[{t_index}].name", f"duplicate of [{first}]")
            for t_index, token in enumerate(tokens):
                if token.billing_organization not in member_of:
                    self.problem(
                        f"{path}.personalTokens[{t_index}].billingOrganization",
                        f"the user is not a member of organization {token.billing_organization!r}",
                    )

    def _validate_role_removals(self) -> None:
        """A custom role may only disappear when nothing will still hold it."""
        replaced = {
            self.org_by_id[o.id].pk: (i, o)
            for i, o in enumerate(self.doc.organizations)
            if o.roles is not None and o.id in self.org_by_id
        }
        if not replaced:
            return
        doc_users = {
            self.users[u.email].pk
            for u in self.doc.users
            if u.memberships is not None and u.email in self.users
        }
        doc_accounts = {
            (self.org_pk.get(a.organization), a.name) for a in self.doc.service_accounts
        }
        account_names = {a.pk: a.name for a in self.accounts.values()}
        holders = store.role_holders(self.conn, list(replaced))
        emails = store.user_emails(self.conn, [pk for kind, pk, _, _ in holders if kind == "user"])
        for kind, owner, org_pk, role in holders:
            index, org = replaced[org_pk]
            if role in BUILTIN_ROLES or role in self.final_roles(org.id):
                continue
            if kind == "user" and owner in doc_users:
                continue
            if kind == "service_account" and (org_pk, account_names.get(owner)) in doc_accounts:
                continue
            who = (
                f"user {emails.get(owner)}"
                if kind == "user"
                else (f"service account {account_names.get(owner)!r}")
            )
            self.problem(
                f"organizations[{index}].roles",
                f"custom role {role!r} is still assigned to {who}; reassign it first",
            )

    def _validate_service_accounts(self) -> None:
        accounts = self.doc.service_accounts
        for index, first in _duplicates((a.organization, a.name) for a in accounts).items():
            self.problem(f"serviceAccounts[{index}].name", f"duplicate of serviceAccounts[{first}]")
        for index, account in enumerate(accounts):
            path = f"serviceAccounts[{index}]"
            if not self.org_known(account.organization):
                self.problem(
                    f"{path}.organization", f"unknown organization {account.organization!r}"
                )
                continue
            if not self.role_valid(account.organization, account.role):
                self.problem(
                    f"{path}.role",
                    f"{account.role!r} is neither a built-in role nor a custom role of "
                    f"organization {account.organization}",
                )
            org_pk = self.org_pk.get(account.organization)
            existing = self.accounts.get((org_pk, account.name)) if org_pk else None
            if existing and existing.token_lifetime_seconds != account.token_lifetime:
                self.problem(
                    f"{path}.tokenLifetime",
                    "the token lifetime of an existing service account cannot change "
                    f"(it is {existing.token_lifetime_seconds} seconds)",
                )

    def _validate_ingest_keys(self) -> None:
        keys = self.doc.ingest_keys
        for index, first in _duplicates(k.name for k in keys).items():
            self.problem(f"ingestKeys[{index}].name", f"duplicate of ingestKeys[{first}]")
        for index, key in enumerate(keys):
            if key.organization is not None and not self.org_known(key.organization):
                self.problem(
                    f"ingestKeys[{index}].organization",
                    f"unknown organization {key.organization!r}",
                )
                continue
            existing = self.ingest_keys.get(key.name)
            if existing is not None:
                bound = self.org_pk.get(key.organization) if key.organization else None
                if existing.org_pk != bound:
                    self.problem(
                        f"ingestKeys[{index}].organization",
                        "an existing ingest key cannot change organization; revoke it and "
                        "create one under a new name",
                    )

    def _validate_revocations(self) -> None:
        doc_tokens = {(u.email, t.name) for u in self.doc.users for t in u.personal_tokens or ()}
        for index, ref in enumerate(self.doc.revoke.personal_tokens):
            user = self.users.get(ref.user)
            known = (ref.user, ref.name) in doc_tokens or (
                user is not None and (user.pk, ref.name) in self.token_names
            )
            if not known:
                self.problem(
                    f"revoke.personalTokens[{index}]",
                    f"no personal token {ref.name!r} of user {ref.user}",
                )
        doc_accounts = {(a.organization, a.name) for a in self.doc.service_accounts}
        for index, sref in enumerate(self.doc.revoke.service_accounts):
            org_pk = self.org_pk.get(sref.organization)
            if (sref.organization, sref.name) not in doc_accounts and (
                org_pk is None or (org_pk, sref.name) not in self.accounts
            ):
                self.problem(
                    f"revoke.serviceAccounts[{index}]",
                    f"no service account {sref.name!r} in organization {sref.organization}",
                )
        names = store.ingest_key_names(self.conn) | {k.name for k in self.doc.ingest_keys}
        for index, kref in enumerate(self.doc.revoke.ingest_keys):
            if kref.name not in names:
                self.problem(f"revoke.ingestKeys[{index}]", f"no ingest key {kref.name!r}")

    # ============================================================ writes

    def execute(self) -> None:
        for org in self.doc.organizations:
            self._apply_org(org)
        for user in self.doc.users:
            self._apply_user(user)
        self._apply_service_accounts()
        self._apply_ingest_keys()
        self._apply_revocations()
        if self.result.changes:
            # Every process's remembered grants are now stale (decision 0009).
            bump_generation(self.conn, uuidlib.uuid4().hex)

    def _apply_org(self, org: Organization) -> None:
        existing = self.org_by_id.get(org.id)
        if existing is None:
            org_uuid = org.uuid or str(uuidlib.uuid4())
            pk = store.insert_org(self.conn, org.id, org_uuid, org.name, self.now)
            self.org_pk[org.id] = pk
            self.result.changes["organizations created"] += 1
        else:
            pk = existing.pk
            if existing.name != org.name:
                store.rename_org(self.conn, pk, org.name)
                self.result.changes["organizations updated"] += 1
        if org.settings is not None:
            stored = store.settings_changes(self.conn, pk)
            for entry in org.settings:
                month = entry.effective_from or str(self.month)
                changes = entry.changes()
                if stored.get(month) != changes:
                    store.put_settings(self.conn, pk, month, changes, exists=month in stored)
                    self.result.changes["settings entries written"] += 1
        if org.roles is not None:
            wanted = {r.name: sorted(set(r.permissions)) for r in org.roles}
            current = {n: sorted(set(p)) for n, p in self.db_roles.get(pk, {}).items()}
            if wanted != current:
                store.replace_custom_roles(self.conn, pk, wanted)
                self.result.changes["role sets replaced"] += 1
        self._apply_catalog(pk, org)

    def _apply_catalog(self, org_pk: int, org: Organization) -> None:
        if org.agents:
            current = store.catalog_rows(self.conn, "agents", org_pk)
            for agent in org.agents:
                values: dict[str, Any] = {"deleted": agent.deleted}
                if agent.name is not None:
                    values["name"] = agent.name
                self._upsert_catalog("agents", org_pk, agent.id, values, current)
        if org.flows:
            projects = store.catalog_rows(self.conn, "projects", org_pk)
            flows = store.catalog_rows(self.conn, "flows", org_pk)
            for flow in org.flows:
                if flow.project is not None:
                    p = flow.project
                    values = {"name": p.name, "icon": p.icon, "color": p.color}
                    self._upsert_catalog("projects", org_pk, p.id, values, projects)
                    projects[p.id] = {**values, "name_at": self.now_ms}
                values = {
                    "name": flow.name,
                    "status": flow.status,
                    "project_id": flow.project.id if flow.project else None,
                }
                self._upsert_catalog("flows", org_pk, flow.id, values, flows)

    def _upsert_catalog(
        self,
        table: str,
        org_pk: int,
        key: str,
        values: dict[str, Any],
        current: dict[str, Any],
    ) -> None:
        row = current.get(key)
        if row is not None and all(row[k] == v for k, v in values.items()):
            return
        # Every attribute the document states is a fact at the time of this apply.
        stated = {attribute_time_column(c): self.now_ms for c in _STATED if c in values}
        values = {**values, **stated}
        store.upsert_catalog(self.conn, table, org_pk, key, values, exists=row is not None)
        self.result.changes[f"{table} written"] += 1

    def _apply_user(self, user: User) -> None:
        existing = self.users.get(user.email)
        if existing is None:
            pk = store.insert_user(self.conn, user.email, user.name, self.now)
            self.users[user.email] = store.ExistingUser(pk, user.email, user.name)
            self.result.changes["users created"] += 1
            current: dict[int, str] = {}
        else:
            pk = existing.pk
            if existing.name != user.name:
                store.rename_user(self.conn, pk, user.name)
                self.result.changes["users updated"] += 1
            current = self.db_memberships.get(pk, {})
        if user.memberships is not None:
            wanted = {self.org_pk[m.organization]: m.role for m in user.memberships}
            if wanted != current:
                store.replace_memberships(self.conn, pk, wanted)
                self.result.changes["membership sets replaced"] += 1
        revoked = {(r.user, r.name) for r in self.doc.revoke.personal_tokens}
        for token in user.personal_tokens or ():
            if (user.email, token.name) in revoked:
                continue
            billing = self.org_pk[token.billing_organization]
            expires = int(token.expires_at.timestamp()) if token.expires_at else None
            if self.token_names.get((pk, token.name)):
                if store.update_personal_token(self.conn, pk, token.name, billing, expires):
                    self.result.changes["personal tokens updated"] += 1
                continue
            secret = new_secret(CredentialKind.PERSONAL_TOKEN)
            store.insert_personal_token(
                self.conn, pk, token.name, billing, hash_secret(secret), self.now, expires
            )
            self.token_names[(pk, token.name)] = True
            self.result.personal_tokens.append(
                {"user": user.email, "name": token.name, "token": secret}
            )
            self.result.changes["personal tokens created"] += 1

    def _apply_service_accounts(self) -> None:
        revoked = {(r.organization, r.name) for r in self.doc.revoke.service_accounts}
        for account in self.doc.service_accounts:
            if (account.organization, account.name) in revoked:
                continue
            org_pk = self.org_pk[account.organization]
            existing = self.accounts.get((org_pk, account.name))
            if existing is not None and existing.revoked_at is None:
                changes = {
                    k: v
                    for k, v in (("description", account.description), ("role", account.role))
                    if getattr(existing, k) != v
                }
                if changes:
                    store.update_service_account(self.conn, existing.pk, **changes)
                    self.result.changes["service accounts updated"] += 1
                continue
            client_id, secret = new_client_id(), new_secret(CredentialKind.CLIENT_SECRET)
            if existing is None:
                store.insert_service_account(
                    self.conn,
                    org_pk,
                    account.name,
                    account.description,
                    account.role,
                    account.token_lifetime,
                    client_id,
                    hash_secret(secret),
                    self.now,
                )
                self.result.changes["service accounts created"] += 1
            else:
                store.update_service_account(
                    self.conn,
                    existing.pk,
                    description=account.description,
                    role=account.role,
                    client_id=client_id,
                    client_secret_hash=hash_secret(secret),
                    revoked_at=None,
                )
                self.result.changes["service accounts re-issued"] += 1
            self.result.service_accounts.append(
                {
                    "organization": account.organization,
                    "name": account.name,
                    "clientId": client_id,
                    "clientSecret": secret,
                }
            )

    def _apply_ingest_keys(self) -> None:
        revoked = {r.name for r in self.doc.revoke.ingest_keys}
        for key in self.doc.ingest_keys:
            expires = int(key.expires_at.timestamp()) if key.expires_at else None
            existing = self.ingest_keys.get(key.name)
            if key.name in revoked:
                continue
            if existing is not None:
                if existing.expires_at != expires:
                    store.set_ingest_key_expiry(self.conn, existing.pk, expires)
                    self.result.changes["ingest keys updated"] += 1
                continue
            secret = new_secret(CredentialKind.INGEST_KEY)
            org_pk = self.org_pk[key.organization] if key.organization else None
            store.insert_ingest_key(
                self.conn, key.name, org_pk, hash_secret(secret), self.now, expires
            )
            self.result.ingest_keys.append({"name": key.name, "key": secret})
            self.result.changes["ingest keys created"] += 1

    def _apply_revocations(self) -> None:
        for ref in self.doc.revoke.personal_tokens:
            user = self.users.get(ref.user)
            if user and store.revoke_personal_token(self.conn, user.pk, ref.name, self.now):
                self.result.changes["personal tokens revoked"] += 1
        for sref in self.doc.revoke.service_accounts:
            org_pk = self.org_pk.get(sref.organization)
            account = self.accounts.get((org_pk, sref.name)) if org_pk else None
            if account and store.revoke_service_account(self.conn, account.pk, self.now):
                self.result.changes["service accounts revoked"] += 1
        for kref in self.doc.revoke.ingest_keys:
            if store.revoke_ingest_key(self.conn, kref.name, self.now):
                self.result.changes["ingest keys revoked"] += 1
