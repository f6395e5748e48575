"""The audit entry of a backfill (section 11: ``backfill`` with its counts), written in
the transaction that stores the batch."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor
from tallyboard.domain.events import Event
from tallyboard.storage import audit_store
from tallyboard.storage.dialect import InsertOutcome

__all__ = ["BackfillAudit"]


@dataclass(frozen=True, slots=True)
class BackfillAudit:
    actor: Actor
    received: int
    """Events in the request."""
    rejected_before: int
    """Rejected before the write (shape, organization, time, closed month)."""

    def record(
        self,
        conn: Connection,
        at: datetime,
        events: list[Event],
        outcome: InsertOutcome,
        refused: int = 0,
    ) -> None:
        duplicates = conflicts = 0
        for event in events:
            stored = outcome.existing.get(event.key)
            if stored is not None:
                if bytes(stored[0]) == event.digest:
                    duplicates += 1
                else:
                    conflicts += 1
        details = {
            "received": self.received,
            "accepted": len(outcome.inserted) - refused,
            "duplicates": duplicates,
            "rejected": self.rejected_before + conflicts + refused,
        }
        audit_store.append(conn, at, self.actor, "backfill", details)
