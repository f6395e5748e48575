"""Top lists, ranked the one way the contract allows.

A top list holds at most ``limit`` items, by metric descending; ties are broken by the
items' labels ascending (the dimension value, then for cross-organization lists the
organization UUID), compared as code points -- the byte order the rollup tables use
(``storage/tables.py``), so a list ranked here and one ranked in SQL agree.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["TOP_LIMIT", "top"]

TOP_LIMIT = 10
"""Items in every top list of the contract (spec §4)."""

T = TypeVar("T")


def top(
    items: Iterable[T],
    limit: int,
    *,
    metric: Callable[[T], int],
    labels: Callable[[T], tuple[str, ...]],
) -> list[T]:
    """The first ``limit`` items by (metric descending, labels ascending)."""
    return heapq.nsmallest(limit, items, key=lambda item: (-metric(item), labels(item)))
