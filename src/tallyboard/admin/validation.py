"""The reference checks of an application: the document against itself and the database.

Run inside the apply transaction (under its lock), after the shape was checked. Every
problem is collected; the applier writes nothing if there is any. For a document
whose shape was wrong, only its valid part is checked here, and the :class:`Damage`
of the rest keeps these checks from reporting what the shape problems already explain
(see ``admin.draft``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.engine import Connection

from tallyboard.admin.catalog_checks import catalog_problems
from tallyboard.admin.document import Document, Organization, User
from tallyboard.admin.draft import Damage
from tallyboard.domain.errors import Problem
from tallyboard.domain.periods import Month
from tallyboard.domain.roles import BUILTIN_ROLES
from tallyboard.storage import admin_store as store

__all__ = ["Known", "reference_problems"]


class Known:
    """What the database holds that an application reads, read once in its transaction.

    The applier's writes keep ``org_pk``, ``users`` and ``token_names`` current as they
    create rows, so later steps of the same application see them."""

    def __init__(self, conn: Connection, doc: Document) -> None:
        existing = store.all_orgs(conn)
        self.org_by_id = {o.id: o for o in existing}
        self.org_by_uuid = {o.uuid: o for o in existing}
        self.org_pk: dict[str, int] = {o.id: o.pk for o in existing}
        self.db_roles = store.custom_roles(conn, [o.pk for o in existing])
        emails = {u.email for u in doc.users} | {r.user for r in doc.revoke.personal_tokens}
        self.users = store.users_by_email(conn, emails)
        user_pks = [u.pk for u in self.users.values()]
        self.db_memberships = store.memberships_of_users(conn, user_pks)
        self.accounts = store.service_accounts(conn)
        self.ingest_keys = store.active_ingest_keys(conn)
        self.token_names = store.personal_token_names(conn, user_pks)


def duplicates(keys: Iterable[Any]) -> dict[int, int]:
    """index -> index of the first occurrence, for every repeated key."""
    first: dict[Any, int] = {}
    repeats: dict[int, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            repeats[index] = first[key]
        else:
            first[key] = index
    return repeats


def reference_problems(
    conn: Connection, doc: Document, known: Known, month: Month, damage: Damage
) -> list[Problem]:
    """Every problem of ``doc``'s references, each with its path in ``doc``."""
    checks = _Checks(conn, doc, known, month, damage)
    checks.run()
    return checks.problems


class _Checks:
    def __init__(
        self, conn: Connection, doc: Document, known: Known, month: Month, damage: Damage
    ) -> None:
        self.conn = conn
        self.doc = doc
        self.known = known
        self.month = month
        self.damage = damage
        self.doc_orgs = {o.id: o for o in doc.organizations}
        self.problems: list[Problem] = []

    def problem(self, path: str, reason: str) -> None:
        self.problems.append(Problem(path, reason))

    def run(self) -> None:
        self._organizations()
        self._users()
        self._role_removals()
        self._service_accounts()
        self._ingest_keys()
        self._revocations()
        self.problems += catalog_problems(self.conn, self.doc, self.known.org_pk, self.damage)

    # ------------------------------------------------------------ what the result holds

    def org_known(self, org_id: str) -> bool:
        return (
            org_id in self.doc_orgs
            or org_id in self.known.org_by_id
            or self.damage.org_named(org_id)
        )

    def final_roles(self, org_id: str) -> set[str]:
        doc_org = self.doc_orgs.get(org_id)
        if doc_org is not None and doc_org.roles is not None:
            return {r.name for r in doc_org.roles}
        existing = self.known.org_by_id.get(org_id)
        return set(self.known.db_roles.get(existing.pk, {})) if existing else set()

    def role_valid(self, org_id: str, role: str) -> bool:
        return (
            role in BUILTIN_ROLES
            or role in self.final_roles(org_id)
            or self.damage.roles_unsure(org_id)
        )

    def final_membership_orgs(self, user: User) -> set[str]:
        if user.memberships is not None:
            return {m.organization for m in user.memberships}
        existing = self.known.users.get(user.email)
        if existing is None:
            return set()
        ids = {o.pk: o.id for o in self.known.org_by_id.values()}
        return {ids[pk] for pk in self.known.db_memberships.get(existing.pk, {}) if pk in ids}

    # ------------------------------------------------------------ organizations

    def _organizations(self) -> None:
        orgs = self.doc.organizations
        for index, first in duplicates(o.id for o in orgs).items():
            self.problem(f"organizations[{index}].id", f"duplicate of organizations[{first}]")
        given = [(i, o.uuid) for i, o in enumerate(orgs) if o.uuid]
        for index, first in duplicates(u for _, u in given).items():
            self.problem(
                f"organizations[{given[index][0]}].uuid",
                f"duplicate of organizations[{given[first][0]}].uuid",
            )
        for index, org in enumerate(orgs):
            path = f"organizations[{index}]"
            existing = self.known.org_by_id.get(org.id)
            if org.uuid:
                if existing is not None and existing.uuid != org.uuid:
                    self.problem(
                        f"{path}.uuid",
                        f"organization {org.id} already has uuid {existing.uuid}; it cannot change",
                    )
                holder = self.known.org_by_uuid.get(org.uuid)
                if holder is not None and holder.id != org.id:
                    self.problem(f"{path}.uuid", f"already used by organization {holder.id}")
            self._org_children(path, org)

    def _org_children(self, path: str, org: Organization) -> None:
        if org.settings is not None:
            months = [s.effective_from or str(self.month) for s in org.settings]
            for index, first in duplicates(months).items():
                self.problem(
                    f"{path}.settings[{index}].effectiveFrom",
                    f"{months[index]} is also set by settings[{first}]",
                )
        if org.roles is not None:
            for index, first in duplicates(r.name for r in org.roles).items():
                self.problem(f"{path}.roles[{index}].name", f"duplicate of roles[{first}]")
            for index, role in enumerate(org.roles):
                if role.name in BUILTIN_ROLES:
                    self.problem(
                        f"{path}.roles[{index}].name",
                        f"{role.name!r} is a built-in role; custom roles need another name",
                    )
        for kind, items in (("agents", org.agents), ("flows", org.flows)):
            for index, first in duplicates(i.id for i in items or ()).items():
                self.problem(f"{path}.{kind}[{index}].id", f"duplicate of {kind}[{first}]")

    # ------------------------------------------------------------ users

    def _users(self) -> None:
        for index, first in duplicates(u.email for u in self.doc.users).items():
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
            for m_index, first in duplicates(orgs).items():
                self.problem(
                    f"{path}.memberships[{m_index}].organization",
                    f"duplicate of memberships[{first}] (one role per organization)",
                )
            self._personal_tokens(path, user)

    def _personal_tokens(self, path: str, user: User) -> None:
        tokens = user.personal_tokens or ()
        for t_index, first in duplicates(t.name for t in tokens).items():
            self.problem(f"{path}.personalTokens[{t_index}].name", f"duplicate of [{first}]")
        if self.damage.members_unsure(user.email):
            return  # its memberships are broken: that problem is reported already
        member_of = self.final_membership_orgs(user)
        for t_index, token in enumerate(tokens):
            if token.billing_organization not in member_of:
                self.problem(
                    f"{path}.personalTokens[{t_index}].billingOrganization",
                    f"the user is not a member of organization {token.billing_organization!r}",
                )

    def _role_removals(self) -> None:
        """A custom role may only disappear when nothing will still hold it."""
        known = self.known
        replaced = {
            known.org_by_id[o.id].pk: (i, o)
            for i, o in enumerate(self.doc.organizations)
            if o.roles is not None
            and o.id in known.org_by_id
            and not self.damage.roles_unsure(o.id)  # a role name may be the broken one
        }
        if not replaced:
            return
        doc_users = {u.email for u in self.doc.users if u.memberships is not None}
        account_names = {a.pk: a.name for a in known.accounts.values()}
        holders = store.role_holders(self.conn, list(replaced))
        emails = store.user_emails(self.conn, [pk for kind, pk, _, _ in holders if kind == "user"])
        for kind, owner, org_pk, role in holders:
            index, org = replaced[org_pk]
            if role in BUILTIN_ROLES or role in self.final_roles(org.id):
                continue
            if kind == "user":
                email = emails.get(owner)
                if email in doc_users or self.damage.members_unsure(email):
                    continue
                who = f"user {email}"
            else:
                name = account_names.get(owner, "")
                if self._account_listed(org.id, name):
                    continue
                who = f"service account {name!r}"
            self.problem(
                f"organizations[{index}].roles",
                f"custom role {role!r} is still assigned to {who}; reassign it first",
            )

    # ------------------------------------------------------------ credentials

    def _account_listed(self, org_id: str, name: str) -> bool:
        listed = any(a.organization == org_id and a.name == name for a in self.doc.service_accounts)
        return listed or self.damage.account_named(org_id, name)

    def _service_accounts(self) -> None:
        accounts = self.doc.service_accounts
        for index, first in duplicates((a.organization, a.name) for a in accounts).items():
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
            org_pk = self.known.org_pk.get(account.organization)
            existing = self.known.accounts.get((org_pk, account.name)) if org_pk else None
            unsure = (account.organization, account.name) in self.damage.unsure_lifetimes
            if (
                existing
                and not unsure
                and existing.token_lifetime_seconds != account.token_lifetime
            ):
                self.problem(
                    f"{path}.tokenLifetime",
                    "the token lifetime of an existing service account cannot change "
                    f"(it is {existing.token_lifetime_seconds} seconds)",
                )

    def _ingest_keys(self) -> None:
        keys = self.doc.ingest_keys
        for index, first in duplicates(k.name for k in keys).items():
            self.problem(f"ingestKeys[{index}].name", f"duplicate of ingestKeys[{first}]")
        for index, key in enumerate(keys):
            if key.organization is not None and not self.org_known(key.organization):
                self.problem(
                    f"ingestKeys[{index}].organization",
                    f"unknown organization {key.organization!r}",
                )
                continue
            existing = self.known.ingest_keys.get(key.name)
            if existing is not None:
                bound = self.known.org_pk.get(key.organization) if key.organization else None
                if existing.org_pk != bound:
                    self.problem(
                        f"ingestKeys[{index}].organization",
                        "an existing ingest key cannot change organization; revoke it and "
                        "create one under a new name",
                    )

    def _revocations(self) -> None:
        known, damage = self.known, self.damage
        doc_tokens = {(u.email, t.name) for u in self.doc.users for t in u.personal_tokens or ()}
        for index, ref in enumerate(self.doc.revoke.personal_tokens):
            user = known.users.get(ref.user)
            listed = (ref.user, ref.name) in doc_tokens or damage.token_named(ref.user, ref.name)
            if not listed and not (user is not None and (user.pk, ref.name) in known.token_names):
                self.problem(
                    f"revoke.personalTokens[{index}]",
                    f"no personal token {ref.name!r} of user {ref.user}",
                )
        for index, sref in enumerate(self.doc.revoke.service_accounts):
            org_pk = known.org_pk.get(sref.organization)
            if not self._account_listed(sref.organization, sref.name) and (
                org_pk is None or (org_pk, sref.name) not in known.accounts
            ):
                self.problem(
                    f"revoke.serviceAccounts[{index}]",
                    f"no service account {sref.name!r} in organization {sref.organization}",
                )
        names = store.ingest_key_names(self.conn) | {k.name for k in self.doc.ingest_keys}
        for index, kref in enumerate(self.doc.revoke.ingest_keys):
            if kref.name not in names and not damage.ingest_key_named(kref.name):
                self.problem(f"revoke.ingestKeys[{index}]", f"no ingest key {kref.name!r}")
