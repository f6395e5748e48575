"""Webhook deliveries as operators read and requeue them (spec §10): the admin endpoint
``GET /v1/admin/webhook-deliveries`` and ``tallyboard webhooks deliveries|redeliver``.

A redelivery is audited (``webhook.redeliver``, spec §11) in the transaction that
requeues the deliveries, under the actor its caller names (the CLI: the
operating-system user)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyboard.alerts.dispatcher import Dispatcher
from tallyboard.domain.audit import Actor
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.storage import audit_store, delivery_store
from tallyboard.storage.database import Database

__all__ = ["AlertServices", "UnknownAlertError", "WebhookDeliveries"]


class UnknownAlertError(InvalidInputError):
    def __init__(self, alert_id: str) -> None:
        super().__init__([Problem("alertId", f"no alert {alert_id!r}")])


class WebhookDeliveries:
    def __init__(self, database: Database, clock: Clock) -> None:
        self._db = database
        self._clock = clock

    def listing(self, status: str | None = None) -> dict[str, list[dict[str, Any]]]:
        """``{"deliveries": [...]}``, newest alert first; ``status`` one of pending,
        delivered, failed (anything else is one INVALID_INPUT naming ``status``)."""
        if status is not None and status not in delivery_store.STATUSES:
            raise InvalidInputError(
                [Problem("status", "must be one of " + ", ".join(delivery_store.STATUSES))]
            )
        with self._db.read() as conn:
            return {"deliveries": delivery_store.deliveries(conn, status)}

    def redeliver(self, alert_id: str, actor: Actor) -> int:
        """Queue every delivery of ``alert_id`` again, due now, and audit it as
        ``actor``'s; how many."""
        now = self._clock.now()
        with self._db.write() as conn:
            count = delivery_store.redeliver(conn, alert_id, int(now.timestamp() * 1000))
            if count is not None:
                details = {"alertId": alert_id, "deliveries": count}
                organization = delivery_store.alert_organization(conn, alert_id)
                audit_store.append(
                    conn, now, actor, "webhook.redeliver", details, organization=organization
                )
        if count is None:
            raise UnknownAlertError(alert_id)
        return count


@dataclass(frozen=True, slots=True)
class AlertServices:
    """What a process runs and offers for alerts after they are recorded."""

    dispatcher: Dispatcher
    deliveries: WebhookDeliveries
