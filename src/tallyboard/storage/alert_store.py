"""SQL of the alert rules and webhooks (spec §10), as the applier and detector need them.

Rules: one ``alert_rules`` row per organization override and at most one with a null
organization (the instance default), each holding only the keys the document stated
(JSON thresholds, forecast), so a partial override inherits the rest. Webhooks: keyed by
name; a revoked webhook keeps its row (its deliveries stay listable) and a document
that lists the name again re-creates it with a new secret.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection

from tallyboard.storage import alert_tables as at

__all__ = [
    "StoredWebhook",
    "insert_webhook",
    "put_rule",
    "revoke_webhook",
    "rules",
    "update_webhook",
    "webhooks",
]


@dataclass(frozen=True, slots=True)
class StoredWebhook:
    pk: int
    name: str
    url: str
    organizations: tuple[str, ...] | None
    events: tuple[str, ...] | None
    secret: str
    revoked_at: int | None

    def matches(self, org_id: str, event: str) -> bool:
        return (self.organizations is None or org_id in self.organizations) and (
            self.events is None or event in self.events
        )


def _json_list(value: Collection[str] | None) -> str | None:
    return None if value is None else orjson.dumps(list(value)).decode()


def _tuple(value: str | None) -> tuple[str, ...] | None:
    return None if value is None else tuple(orjson.loads(value))


def webhooks(conn: Connection, *, active_only: bool = False) -> dict[str, StoredWebhook]:
    """Every webhook by name (revoked ones too, unless ``active_only``)."""
    table = at.webhooks
    query = select(
        table.c.pk,
        table.c.name,
        table.c.url,
        table.c.organizations,
        table.c.events,
        table.c.secret,
        table.c.revoked_at,
    ).order_by(table.c.name)
    if active_only:
        query = query.where(table.c.revoked_at.is_(None))
    return {
        row.name: StoredWebhook(
            row.pk,
            row.name,
            row.url,
            _tuple(row.organizations),
            _tuple(row.events),
            row.secret,
            row.revoked_at,
        )
        for row in conn.execute(query)
    }


def insert_webhook(
    conn: Connection,
    name: str,
    url: str,
    organizations: Collection[str] | None,
    events: Collection[str] | None,
    secret: str,
    now_ms: int,
) -> int:
    result = conn.execute(
        insert(at.webhooks).values(
            name=name,
            url=url,
            organizations=_json_list(organizations),
            events=_json_list(events),
            secret=secret,
            created_at=now_ms,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def update_webhook(conn: Connection, pk: int, **values: Any) -> None:
    """Set ``url``, ``organizations``, ``events`` or (re-creating) ``secret``."""
    for key in ("organizations", "events"):
        if key in values:
            values[key] = _json_list(values[key])
    conn.execute(update(at.webhooks).where(at.webhooks.c.pk == pk).values(**values))


def revoke_webhook(conn: Connection, pk: int, now_ms: int) -> None:
    """Revoke it, and fail what it still had pending: nothing is posted to it any more."""
    conn.execute(update(at.webhooks).where(at.webhooks.c.pk == pk).values(revoked_at=now_ms))
    d = at.webhook_deliveries
    conn.execute(
        update(d)
        .where(d.c.webhook_pk == pk, d.c.status == "pending")
        .values(
            status="failed", last_error="webhook revoked", next_attempt_at=None, lease_until=None
        )
    )


def rules(conn: Connection) -> tuple[dict[str, Any] | None, dict[int, dict[str, Any]]]:
    """(the instance default's stated keys or None, each override's by organization)."""
    table = at.alert_rules
    instance: dict[str, Any] | None = None
    overrides: dict[int, dict[str, Any]] = {}
    for org_pk, thresholds, forecast in conn.execute(
        select(table.c.org_pk, table.c.thresholds, table.c.forecast)
    ):
        stated: dict[str, Any] = {}
        if thresholds is not None:
            stated["thresholds"] = orjson.loads(thresholds)
        if forecast is not None:
            stated["forecast"] = bool(forecast)
        if org_pk is None:
            instance = stated
        else:
            overrides[org_pk] = stated
    return instance, overrides


def put_rule(conn: Connection, org_pk: int | None, stated: Mapping[str, Any]) -> None:
    """Replace the instance default (``org_pk`` None) or an organization's override."""
    table = at.alert_rules
    where = table.c.org_pk.is_(None) if org_pk is None else table.c.org_pk == org_pk
    conn.execute(delete(table).where(where))
    thresholds = stated.get("thresholds")
    conn.execute(
        insert(table).values(
            org_pk=org_pk,
            thresholds=None if thresholds is None else orjson.dumps(thresholds).decode(),
            forecast=stated.get("forecast"),
        )
    )
