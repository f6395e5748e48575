"""Webhook deliveries as operators read and requeue them (spec §10): the admin endpoint
``GET /v1/admin/webhook-deliveries`` and ``tallyboard webhooks deliveries|redeliver``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tallyboard.alerts.dispatcher import Dispatcher
from tallyboard.domain.clock import Clock
from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.storage import delivery_store
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

    def redeliver(self, alert_id: str) -> int:
        """Queue every delivery of ``alert_id`` again, due now; how many."""
        now_ms = int(self._clock.now().timestamp() * 1000)
        with self._db.write() as conn:
            count = delivery_store.redeliver(conn, alert_id, now_ms)
        if count is None:
            raise UnknownAlertError(alert_id)
        return count


@dataclass(frozen=True, slots=True)
class AlertServices:
    """What a process runs and offers for alerts after they are recorded."""

    dispatcher: Dispatcher
    deliveries: WebhookDeliveries
