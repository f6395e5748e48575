"""What the edge hands to resolvers: the read side and the caller, nothing else.

Endpoints receive their services one by one from the composition root
(``tallyboard.app.build_routes``); resolvers see only ``RequestContext``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tallyboard.access.principal import Principal
from tallyboard.exports.service import ExportService
from tallyboard.stats.queries import StatisticsQueries

__all__ = ["RequestContext"]


@dataclass(slots=True)
class RequestContext:
    """Per-request context of GraphQL resolvers: the read side and the caller, only."""

    queries: StatisticsQueries
    principal: Principal
    correlation_id: str
    warnings: list[dict[str, Any]] = field(default_factory=list)
    exports: ExportService | None = None
    """The export mutations and their status fields (None: not served)."""
