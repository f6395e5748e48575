"""The alert sections of an application (spec §10): their checks and their writes.

Called by the applier inside its transaction, under its lock: ``alert_problems`` with
the reference checks (every problem with its path, nothing written if any), then
``apply_alerts`` with the other writes, before the tenancy generation is raised -- so
every process's detector reads the new rules and webhooks on its next write.

A webhook's signing secret (``whsec_`` + base64 of 32 random bytes) is created when the
webhook is, and shown once in the apply output; a revoked webhook listed again is
re-created with a new secret.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Collection, Mapping
from typing import Any, Protocol

from sqlalchemy.engine import Connection

from tallyboard.access.url_safety import Resolver, resolve, url_problem
from tallyboard.admin.alert_document import Webhook
from tallyboard.admin.document import Document
from tallyboard.admin.draft import Damage
from tallyboard.domain.errors import Problem
from tallyboard.storage import alert_store
from tallyboard.storage.alert_store import StoredWebhook

__all__ = ["AlertResult", "alert_problems", "apply_alerts", "new_webhook_secret"]

SECRET_PREFIX = "whsec_"  # noqa: S105 -- the Standard Webhooks prefix, not a secret


def new_webhook_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _duplicates(keys: list[str]) -> dict[int, int]:
    first: dict[str, int] = {}
    out: dict[int, int] = {}
    for index, key in enumerate(keys):
        if key in first:
            out[index] = first[key]
        else:
            first[key] = index
    return out


def alert_problems(
    conn: Connection,
    doc: Document,
    known_ids: Collection[str],
    damage: Damage,
    *,
    allow_private: bool,
    resolver: Resolver = resolve,
) -> list[Problem]:
    """Every problem of the webhooks and their revocations, each with its path."""
    problems: list[Problem] = []
    hooks = doc.webhooks
    for index, first in _duplicates([h.name for h in hooks]).items():
        problems.append(Problem(f"webhooks[{index}].name", f"duplicate of webhooks[{first}]"))
    for index, hook in enumerate(hooks):
        reason = url_problem(hook.url, allow_private=allow_private, resolver=resolver)
        if reason is not None:
            problems.append(Problem(f"webhooks[{index}].url", reason))
        for o_index, org_id in enumerate(hook.organizations or ()):
            if org_id not in known_ids and not damage.org_named(org_id):
                problems.append(
                    Problem(
                        f"webhooks[{index}].organizations[{o_index}]",
                        f"unknown organization {org_id!r}",
                    )
                )
    stored = alert_store.webhooks(conn, active_only=True)
    listed = {h.name for h in hooks}
    for index, name in enumerate(doc.revoke.webhooks):
        if name not in stored and name not in listed:
            problems.append(Problem(f"revoke.webhooks[{index}]", f"no webhook {name!r}"))
    return problems


class AlertResult(Protocol):
    """The part of the applier's result the alert sections fill."""

    webhooks: list[dict[str, str]]
    changes: Any


def apply_alerts(
    conn: Connection,
    doc: Document,
    org_pk: Mapping[str, int],
    now_ms: int,
    result: AlertResult,
) -> None:
    stored = alert_store.webhooks(conn)
    revoked = set(doc.revoke.webhooks)
    for hook in doc.webhooks:
        if hook.name in revoked:
            continue
        _apply_webhook(conn, hook, stored.get(hook.name), now_ms, result)
    for name in sorted(revoked):
        existing = stored.get(name)
        if existing is not None and existing.revoked_at is None:
            alert_store.revoke_webhook(conn, existing.pk, now_ms)
            result.changes["webhooks revoked"] += 1
    _apply_rules(conn, doc, org_pk, result)


def _apply_webhook(
    conn: Connection,
    hook: Webhook,
    existing: StoredWebhook | None,
    now_ms: int,
    result: AlertResult,
) -> None:
    orgs = None if hook.organizations is None else tuple(dict.fromkeys(hook.organizations))
    events = None if hook.events is None else tuple(dict.fromkeys(hook.events))
    if existing is None:
        secret = new_webhook_secret()
        alert_store.insert_webhook(conn, hook.name, hook.url, orgs, events, secret, now_ms)
        result.webhooks.append({"name": hook.name, "secret": secret})
        result.changes["webhooks created"] += 1
        return
    if existing.revoked_at is not None:
        secret = new_webhook_secret()
        alert_store.update_webhook(
            conn,
            existing.pk,
            url=hook.url,
            organizations=orgs,
            events=events,
            secret=secret,
            revoked_at=None,
            created_at=now_ms,
        )
        result.webhooks.append({"name": hook.name, "secret": secret})
        result.changes["webhooks re-created"] += 1
        return
    wanted = {"url": hook.url, "organizations": orgs, "events": events}
    changed = {k: v for k, v in wanted.items() if getattr(existing, k) != v}
    if changed:
        alert_store.update_webhook(conn, existing.pk, **changed)
        result.changes["webhooks updated"] += 1


def _apply_rules(
    conn: Connection, doc: Document, org_pk: Mapping[str, int], result: AlertResult
) -> None:
    instance, overrides = alert_store.rules(conn)
    if doc.alerts is not None:
        stated = doc.alerts.stated()
        if stated != instance:
            alert_store.put_rule(conn, None, stated)
            result.changes["alert rules written"] += 1
    for org in doc.organizations:
        if org.alerts is None:
            continue
        pk = org_pk[org.id]
        stated = org.alerts.stated()
        if stated != overrides.get(pk):
            alert_store.put_rule(conn, pk, stated)
            result.changes["alert rules written"] += 1
