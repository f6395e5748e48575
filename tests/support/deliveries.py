"""One alert with one pending webhook delivery, recorded through the real services:
what the delivery commands (list, requeue) have to work on."""

from __future__ import annotations

import uuid
from datetime import timedelta

from tallyboard.admin.draft import read_document
from tallyboard.components import build_components
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings
from tests.support.events import api_call
from tests.support.harness import DEFAULT_NOW

__all__ = ["an_alert_with_a_delivery"]


def an_alert_with_a_delivery(database_url: str) -> str:
    """Record one alert with one pending delivery; the organization's uuid."""
    clock = FixedClock(DEFAULT_NOW)
    services = build_components(
        Settings(database_url=database_url, webhook_allow_private=True), clock=clock
    )
    org_id, org_uuid = f"c{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    document = {
        "organizations": [
            {
                "id": org_id,
                "uuid": org_uuid,
                "name": "CLI",
                "settings": [{"allowances": {"apiCalls": 4}}],
                "alerts": {"thresholds": [100], "forecast": False},
            }
        ],
        "webhooks": [{"name": "ops-hook", "url": "http://127.0.0.1:9/hook"}],
    }
    services.applier.apply(read_document(document))
    event = api_call(org_uuid, DEFAULT_NOW - timedelta(hours=1), count=4)
    services.ingest.ingest_events([event], bound_org_pk=None, backfill=False)
    services.close()
    return org_uuid
