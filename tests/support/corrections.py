"""Corrections as an operator sends them to ``POST /v1/admin/corrections`` (spec §11):
the entries (a void, an adjustment), the call, and the rollups compared without the
catalog a voided event leaves behind."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from tests.support.events import RollupSnapshot, iso
from tests.support.harness import DEFAULT_NOW, Harness

__all__ = ["adjust", "correct", "usage_only", "void"]

NOW = DEFAULT_NOW


def correct(harness: Harness, entries: list[Any], *, token: str | None = None) -> Any:
    response = harness.http.post(
        "/v1/admin/corrections",
        json=entries,
        headers={"Authorization": f"Bearer {token or harness.admin_token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def void(org: str, event: dict[str, Any], reason: str = "test traffic") -> dict[str, Any]:
    return {
        "action": "void",
        "organization": org,
        "source": event["source"],
        "id": event["id"],
        "reason": reason,
    }


def adjust(org: str, adjustment_id: str, kind: str, data: dict[str, Any], **extra: Any) -> Any:
    return {
        "action": "adjust",
        "id": adjustment_id,
        "organization": org,
        "type": kind,
        "time": extra.pop("time", iso(NOW - timedelta(days=1))),
        "data": data,
        "reason": extra.pop("reason", "goodwill"),
        **extra,
    }


def usage_only(snapshot: RollupSnapshot) -> RollupSnapshot:
    """The rollups alone (the catalog names a voided event brought stay, by contract)."""
    return replace(snapshot, flow_catalog={}, project_catalog={}, agent_catalog={}, raw_events=0)
