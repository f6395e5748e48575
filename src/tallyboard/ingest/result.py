"""The answer of an ingest request (and of each batch of the CLI), as JSON.

The response shape is the ingest edge's business, not the domain's: the domain says
which events were rejected and why (:class:`~tallyboard.domain.events.Rejection`);
this module says how a client sees it (spec §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tallyboard.domain.events import Rejection

__all__ = ["IngestResult", "rejection_json"]


def rejection_json(rejection: Rejection) -> dict[str, Any]:
    return {
        "index": rejection.index,
        "id": rejection.id,
        "code": rejection.code.value,
        "message": rejection.message,
    }


@dataclass(slots=True)
class IngestResult:
    """The response of an ingest request, and of each batch of the CLI."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": [rejection_json(r) for r in sorted(self.rejected, key=lambda r: r.index)],
        }
