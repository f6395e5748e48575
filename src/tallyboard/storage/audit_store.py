"""The audit log's rows: appended in the caller's transaction, read newest first.

Nothing here updates or deletes a row: the log is append-only. Details are stored as
JSON text; callers hand only what may be shown (never a secret or its hash).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from tallyboard.domain.audit import Actor, AuditEntry
from tallyboard.domain.event_time import epoch_ms
from tallyboard.storage.correction_tables import audit_log

__all__ = ["append", "entries"]


def append(
    conn: Connection,
    at: datetime,
    actor: Actor,
    action: str,
    details: dict[str, Any],
    *,
    organization: str | None = None,
) -> int:
    """Add one entry in ``conn``'s transaction (it commits or rolls back with the action)."""
    result = conn.execute(
        insert(audit_log)
        .values(
            at_ms=epoch_ms(at),
            actor_kind=actor.kind,
            actor_name=actor.name,
            action=action,
            organization=organization,
            details=orjson.dumps(details, option=orjson.OPT_SORT_KEYS).decode(),
        )
        .returning(audit_log.c.pk)
    )
    return int(result.scalar_one())


def entries(
    conn: Connection,
    *,
    since_ms: int | None,
    action: str | None,
    before_pk: int | None,
    limit: int | None,
) -> list[AuditEntry]:
    """Entries newest first (``pk`` descending), at or after ``since_ms``, of ``action``,
    strictly older than ``before_pk`` (the keyset cursor); at most ``limit``."""
    a = audit_log
    query = select(
        a.c.pk, a.c.at_ms, a.c.actor_kind, a.c.actor_name, a.c.action, a.c.organization, a.c.details
    ).order_by(a.c.pk.desc())
    if since_ms is not None:
        query = query.where(a.c.at_ms >= since_ms)
    if action is not None:
        query = query.where(a.c.action == action)
    if before_pk is not None:
        query = query.where(a.c.pk < before_pk)
    if limit is not None:
        query = query.limit(limit)
    return [
        AuditEntry(
            id=int(pk),
            at_ms=int(at_ms),
            actor=Actor(kind, name),
            action=act,
            organization=org,
            details=orjson.loads(details),
        )
        for pk, at_ms, kind, name, act, org, details in conn.execute(query)
    ]
