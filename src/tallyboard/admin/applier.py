"""Applies a validated tenancy document in one transaction.

The rules (documented for operators in ``docs/admin-apply.md``):
- Entities are matched by their keys and created or updated; nothing is deleted by
  omission. Listing an entity again with the same values changes nothing and creates
  no new secret.
- A nested list that is *present* is authoritative for a user's ``memberships`` and an
  organization's custom ``roles`` (so removing a membership takes effect at once);
  ``settings``, ``agents``, ``flows``, ``pipes``, ``automations`` and
  ``personalTokens`` are only ever upserted; an unchanged catalog entry changes
  nothing (``admin/catalog_apply.py``).
- Credentials: a listed credential with no active secret gets a new one (first
  creation, or rotation after a revocation); ``revoke`` wins over a listing.
- Every cross-reference is checked against the document and the database together
  (``admin.validation``), and every problem -- of shape and of references -- is
  reported at once (``admin.draft``); if there is any, nothing is written.
"""

from __future__ import annotations

import logging
import uuid as uuidlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.access.tokens import CredentialKind, hash_secret, new_client_id, new_secret
from tallyboard.admin.alerts import alert_problems, apply_alerts
from tallyboard.admin.catalog_apply import CatalogWriter
from tallyboard.admin.document import Document, Organization, User
from tallyboard.admin.draft import Draft
from tallyboard.admin.validation import Known, reference_problems
from tallyboard.domain.audit import Actor, operating_system_actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.periods import Month
from tallyboard.storage import admin_store as store
from tallyboard.storage import audit_store, credential_store
from tallyboard.storage.alert_detector import AlertDetector
from tallyboard.storage.credential_store import DisabledPersonalToken
from tallyboard.storage.database import Database
from tallyboard.storage.tenancy_store import bump_generation

__all__ = ["Applier", "ApplyResult"]

log = logging.getLogger(__name__)

_APPLY_LOCK = (0, 1)  # advisory lock key: one application at a time per instance


@dataclass
class ApplyResult:
    service_accounts: list[dict[str, str]] = field(default_factory=list)
    personal_tokens: list[dict[str, str]] = field(default_factory=list)
    ingest_keys: list[dict[str, str]] = field(default_factory=list)
    webhooks: list[dict[str, str]] = field(default_factory=list)
    changes: Counter[str] = field(default_factory=Counter)
    disabled_personal_tokens: list[DisabledPersonalToken] = field(default_factory=list)
    """Revoked because their user no longer belongs to their billing organization."""

    def secrets(self) -> dict[str, list[dict[str, str]]]:
        """The contract's output: secrets created by this application, shown once."""
        return {
            "serviceAccounts": self.service_accounts,
            "personalTokens": self.personal_tokens,
            "ingestKeys": self.ingest_keys,
            "webhooks": self.webhooks,
        }

    def summary(self) -> str:
        if not self.changes:
            return "No changes: the database already matches the document."
        lines = [", ".join(f"{n} {what}" for what, n in sorted(self.changes.items()))]
        lines += [
            f"Personal token {t.name!r} of {t.user_email} disabled: the user no longer "
            f"belongs to its billing organization {t.billing_org_id}"
            for t in self.disabled_personal_tokens
        ]
        return "\n".join(lines)

    def audit_details(self) -> dict[str, Any]:
        """What the audit log keeps of this application: what changed, by name where a
        credential was created -- never a secret (section 11)."""
        return {
            "changes": dict(sorted(self.changes.items())),
            "serviceAccounts": [
                {"organization": a["organization"], "name": a["name"]}
                for a in self.service_accounts
            ],
            "personalTokens": [
                {"user": t["user"], "name": t["name"]} for t in self.personal_tokens
            ],
            "ingestKeys": [{"name": k["name"]} for k in self.ingest_keys],
        }


class Applier:
    def __init__(
        self,
        database: Database,
        clock: Clock,
        *,
        allow_private_webhooks: bool = False,
        detector: AlertDetector | None = None,
    ) -> None:
        self._db = database
        self._clock = clock
        self._allow_private = allow_private_webhooks
        self._detector = detector or AlertDetector(clock)

    def apply(self, document: Document | Draft, actor: Actor | None = None) -> ApplyResult:
        """Apply ``document`` whole, or raise :class:`InvalidInputError` with every
        problem -- of shape (a :class:`Draft` carries them) and of references. The audit
        entry (``actor``: the caller, else the operating-system user) commits with it, when
        anything changed."""
        draft = document if isinstance(document, Draft) else Draft(document)
        now = self._clock.now()
        with self._db.write() as conn:
            self._db.dialect.lock(conn, *_APPLY_LOCK)
            known = Known(conn, draft.document)
            month = Month.of(now.date())
            doc = draft.document
            known_ids = set(known.org_by_id) | {o.id for o in doc.organizations}
            draft.require_valid(
                reference_problems(conn, doc, known, month, draft.damage)
                + alert_problems(
                    conn, doc, known_ids, draft.damage, allow_private=self._allow_private
                )
            )
            run = _Run(conn, doc, known, int(now.timestamp()), month)
            run.execute()
            if run.result.changes:
                # Thresholds an apply adds or makes reached fire now (spec §10): this
                # month's, so a first rule does not replay the history as alerts.
                self._detector.sweep(conn, [str(month)])
                details = run.result.audit_details()
                audit_store.append(conn, now, actor or operating_system_actor(), "apply", details)
            return run.result


class _Run:
    """One application's writes, after every check passed."""

    def __init__(
        self, conn: Connection, doc: Document, known: Known, now: int, month: Month
    ) -> None:
        self.conn = conn
        self.doc = doc
        self.now = now
        self.now_ms = now * 1000
        self.month = month
        self.result = ApplyResult()
        self.org_by_id = known.org_by_id
        self.org_pk = known.org_pk
        self.db_roles = known.db_roles
        self.users = known.users
        self.db_memberships = known.db_memberships
        self.accounts = known.accounts
        self.ingest_keys = known.ingest_keys
        self.token_names = known.token_names

    def execute(self) -> None:
        for org in self.doc.organizations:
            self._apply_org(org)
        for user in self.doc.users:
            self._apply_user(user)
        self._apply_service_accounts()
        self._apply_ingest_keys()
        self._apply_revocations()
        self._disable_tokens_outside_billing_org()
        apply_alerts(self.conn, self.doc, self.org_pk, self.now_ms, self.result)
        if self.result.changes:
            # Every process's remembered grants are now stale (decision 0009).
            bump_generation(self.conn, uuidlib.uuid4().hex)

    def _disable_tokens_outside_billing_org(self) -> None:
        """A personal token bills its organization; once its user has left that
        organization it must stop working (and stay stopped if they come back: the
        secret may have been kept by someone who should no longer have it). The whole
        database is swept, so tokens orphaned before this rule existed go too."""
        disabled = credential_store.revoke_tokens_outside_billing_org(self.conn, self.now)
        if not disabled:
            return
        self.result.disabled_personal_tokens = disabled
        self.result.changes["personal tokens disabled"] += len(disabled)
        for token in disabled:
            log.info(
                "personal token disabled: its user left the billing organization",
                extra={
                    "user": token.user_email,
                    "token_name": token.name,
                    "organization": token.billing_org_id,
                },
            )

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
        writer = CatalogWriter(self.conn, self.now_ms, self.result.changes)
        writer.usage_entries(org_pk, org.agents, org.pipes, org.automations)
        if org.flows:
            projects = store.catalog_rows(self.conn, "projects", org_pk)
            flows = store.catalog_rows(self.conn, "flows", org_pk)
            for flow in org.flows:
                if flow.project is not None:
                    p = flow.project
                    values = {"name": p.name, "icon": p.icon, "color": p.color}
                    writer.upsert("projects", org_pk, p.id, values, projects)
                values = {
                    "name": flow.name,
                    "status": flow.status,
                    "project_id": flow.project.id if flow.project else None,
                }
                writer.upsert("flows", org_pk, flow.id, values, flows)

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
