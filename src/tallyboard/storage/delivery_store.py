"""The webhook deliveries of recorded alerts: claimed under a lease, every attempt kept.

A delivery is ``pending`` until an attempt succeeds (``delivered``) or the retry
schedule is spent or the receiver answered 410 (``failed``). A dispatcher claims due
deliveries by setting ``lease_until`` in a short transaction; another process skips a
row whose lease has not expired (PostgreSQL: ``FOR UPDATE SKIP LOCKED`` while claiming,
so two claimers never wait on or take the same rows; SQLite has one writer at a time,
which serializes the claims), so one attempt runs at a time per delivery. The lease is
longer than an attempt can take; a process that dies mid-attempt leaves a lease that
expires, and the delivery is attempted again -- at least once, never lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from tallyboard.domain.periods import format_datetime
from tallyboard.storage import alert_tables as at
from tallyboard.storage.tables import organizations

__all__ = [
    "AttemptRecord",
    "Claimed",
    "alert_organization",
    "claim",
    "deliveries",
    "pending_count",
    "record_attempts",
    "redeliver",
    "release",
]

PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
STATUSES = (PENDING, DELIVERED, FAILED)


@dataclass(frozen=True, slots=True)
class Claimed:
    pk: int
    alert_id: str
    attempts: int
    url: str
    secret: str
    body: bytes
    lease_until: int


def claim(conn: Connection, now_ms: int, lease_ms: int, limit: int) -> list[Claimed]:
    """Lease up to ``limit`` due deliveries (oldest due first) to this caller."""
    d, a, w = at.webhook_deliveries, at.usage_alerts, at.webhooks
    due = (
        select(d.c.pk)
        .join(w, w.c.pk == d.c.webhook_pk)
        .where(
            w.c.revoked_at.is_(None),
            d.c.status == PENDING,
            d.c.next_attempt_at <= now_ms,
            or_(d.c.lease_until.is_(None), d.c.lease_until < now_ms),
        )
        .order_by(d.c.next_attempt_at, d.c.pk)
        .limit(limit)
        .with_for_update(of=d, skip_locked=True)  # rendered on PostgreSQL only
    )
    pks = list(conn.execute(due).scalars())
    if not pks:
        return []
    lease_until = now_ms + lease_ms
    conn.execute(update(d).where(d.c.pk.in_(pks)).values(lease_until=lease_until))
    rows = conn.execute(
        select(d.c.pk, d.c.attempts, a.c.id, a.c.body, w.c.url, w.c.secret)
        .join(a, a.c.pk == d.c.alert_pk)
        .join(w, w.c.pk == d.c.webhook_pk)
        .where(d.c.pk.in_(pks))
    )
    return [
        Claimed(r.pk, r.id, r.attempts, r.url, r.secret, r.body.encode(), lease_until) for r in rows
    ]


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    claimed: Claimed
    attempted_at: int
    duration_ms: int
    status_code: int | None
    error: str | None
    outcome: str
    next_attempt_at: int | None


def record_attempts(conn: Connection, records: Sequence[AttemptRecord]) -> None:
    """Keep every attempt and move each delivery on (two executemany statements). A
    delivery whose lease is no longer the one claimed (a redelivery took it meanwhile)
    is left alone; its attempt is still kept."""
    if not records:
        return
    d = at.webhook_deliveries
    move = (
        update(d)
        .where(d.c.pk == bindparam("b_pk"), d.c.lease_until == bindparam("b_lease"))
        .values(
            status=bindparam("b_status"),
            attempts=d.c.attempts + 1,
            last_status_code=bindparam("b_code"),
            last_error=bindparam("b_error"),
            next_attempt_at=bindparam("b_next"),
            lease_until=None,
        )
    )
    conn.execute(
        move,
        [
            {
                "b_pk": r.claimed.pk,
                "b_lease": r.claimed.lease_until,
                "b_status": r.outcome,
                "b_code": r.status_code,
                "b_error": r.error,
                "b_next": r.next_attempt_at,
            }
            for r in records
        ],
    )
    conn.execute(
        insert(at.webhook_attempts),
        [
            {
                "delivery_pk": r.claimed.pk,
                "attempted_at": r.attempted_at,
                "status_code": r.status_code,
                "error": r.error,
                "duration_ms": r.duration_ms,
            }
            for r in records
        ],
    )


def release(conn: Connection, claimed: Sequence[Claimed]) -> None:
    """Give back deliveries claimed but not attempted (the round ran out of lease), so
    the next round takes them without waiting for the lease to expire."""
    if not claimed:
        return
    d = at.webhook_deliveries
    conn.execute(
        update(d)
        .where(d.c.pk == bindparam("b_pk"), d.c.lease_until == bindparam("b_lease"))
        .values(lease_until=None),
        [{"b_pk": c.pk, "b_lease": c.lease_until} for c in claimed],
    )


def deliveries(conn: Connection, status: str | None = None) -> list[dict[str, Any]]:
    """Every delivery (of one status), newest alert first, as the contract lists them."""
    d, a, w = at.webhook_deliveries, at.usage_alerts, at.webhooks
    query = (
        select(
            a.c.id,
            w.c.name,
            d.c.status,
            d.c.attempts,
            d.c.last_status_code,
            d.c.last_error,
            d.c.next_attempt_at,
        )
        .join(a, a.c.pk == d.c.alert_pk)
        .join(w, w.c.pk == d.c.webhook_pk)
        .order_by(a.c.pk.desc(), w.c.name)
    )
    if status is not None:
        query = query.where(d.c.status == status)
    return [
        {
            "alertId": r.id,
            "webhook": r.name,
            "status": r.status,
            "attempts": r.attempts,
            "lastStatusCode": r.last_status_code,
            "lastError": r.last_error,
            "nextAttemptAt": None
            if r.next_attempt_at is None or r.status != PENDING
            else format_datetime(datetime.fromtimestamp(r.next_attempt_at / 1000, UTC)),
        }
        for r in conn.execute(query)
    ]


def redeliver(conn: Connection, alert_id: str, now_ms: int) -> int | None:
    """Queue an alert's deliveries again (a fresh schedule); None for an unknown alert."""
    a, d = at.usage_alerts, at.webhook_deliveries
    pk = conn.execute(select(a.c.pk).where(a.c.id == alert_id)).scalar()
    if pk is None:
        return None
    result = conn.execute(
        update(d)
        .where(d.c.alert_pk == pk)
        .values(status=PENDING, attempts=0, next_attempt_at=now_ms, lease_until=None)
    )
    return int(result.rowcount)


def alert_organization(conn: Connection, alert_id: str) -> str | None:
    """The uuid of the organization an alert is about (None: no such alert)."""
    a = at.usage_alerts
    query = (
        select(organizations.c.uuid)
        .select_from(a.join(organizations, organizations.c.pk == a.c.org_pk))
        .where(a.c.id == alert_id)
    )
    uuid: str | None = conn.execute(query).scalar()
    return uuid


def pending_count(conn: Connection) -> int:
    d = at.webhook_deliveries
    return int(conn.execute(select(func.count()).where(d.c.status == PENDING)).scalar_one())
