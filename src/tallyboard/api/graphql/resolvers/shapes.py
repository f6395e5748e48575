"""Pieces of the schema's shapes every statistic's answer shares."""

from __future__ import annotations

from typing import Any

from tallyboard.domain.periods import PeriodWindow

__all__ = ["filter_date"]


def filter_date(window: PeriodWindow) -> dict[str, Any]:
    """``filterDate``: the period's bounds as the API shows them (inclusive)."""
    return {"from": window.start, "to": window.end}
