"""Closing and reopening a month through ``POST /v1/admin/months/...`` (spec §11)."""

from __future__ import annotations

from typing import Any

from tests.support.harness import Harness

__all__ = ["set_month"]


def set_month(harness: Harness, month: str, change: str, token: str | None = None) -> Any:
    return harness.http.post(
        f"/v1/admin/months/{month}/{change}",
        headers={"Authorization": f"Bearer {token or harness.admin_token}"},
    )
