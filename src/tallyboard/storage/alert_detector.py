"""Detects allowance alerts inside the write transaction that makes them true (spec §10).

Every write of usage ends in :class:`RollupWriter`, which hands the detector the monthly
totals it just added. The detector keeps the cost on that path small:

- what it needs to know -- which organizations have an allowance, their settings history,
  their effective rule, the active webhooks -- is a :class:`Plan` read once per tenancy
  generation (``admin apply`` raises it in the transaction that changes any of it) and
  kept in a ``BoundedCache`` under that stamp; the write pays one primary-key read of
  the generation;
- a write touching no organization of the plan stops there; otherwise one statement
  reads the touched months' totals after the write, and a threshold is a candidate only
  when this write took the usage from below it to at or above it;
- candidates go into ``usage_alerts`` with ``INSERT ... ON CONFLICT DO NOTHING`` on the
  key (organization, resource, month, level), so whatever the number of processes and
  however their writes interleave, an alert is recorded once, with its deliveries, or
  rolled back with the write that made it true.

``sweep`` checks this month of the plan's organizations from their state alone: an
apply that lowers an allowance or adds a threshold, and the hourly forecast timer
(a forecast cannot fire in a month's first 24 h, so a quiet organization's may
become due with no write at all).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from sqlalchemy import bindparam, insert, select, text, tuple_
from sqlalchemy.engine import Connection

from tallyboard.cache.bounded import BoundedCache
from tallyboard.domain.alerts import (
    FORECAST_EXCEEDED,
    FORECAST_LEVEL,
    RESOURCES,
    THRESHOLD_CROSSED,
    amount,
    forecast,
    payload,
    resource_named,
)
from tallyboard.domain.clock import Clock
from tallyboard.domain.periods import Month, format_datetime
from tallyboard.domain.rollup import FIGURES, MonthKey
from tallyboard.storage import alert_tables as at
from tallyboard.storage import tables as t
from tallyboard.storage import tenancy_store
from tallyboard.storage.alert_plan import OrgPlan, Plan, read_plan

__all__ = ["AlertDetector", "NewAlert"]

_IN_CHUNK = 500
_FIGURE = {figure: index for index, figure in enumerate(FIGURES)}
_INSERT_ALERT = text(
    "INSERT INTO usage_alerts (id, type, org_pk, resource, month, level, threshold, usage, "
    "allowance, projected_usage, projected_exhaustion_at, created_at, crossed_at, body) "
    "VALUES (:id, :type, :org_pk, :resource, :month, :level, :threshold, :usage, :allowance, "
    ":projected_usage, :projected_exhaustion_at, :created_at, :crossed_at, :body) "
    "ON CONFLICT (org_pk, resource, month, level) DO NOTHING RETURNING pk"
)
"""The same text on both engines (SQLite >= 3.35 and PostgreSQL both return nothing for
a row the conflict skipped), so it needs no dialect primitive."""


_TOTAL_TABLE = t.usage_totals_monthly
_GENERATION = select(tenancy_store.generation_subquery())
_TOTALS = select(
    tenancy_store.generation_subquery(),
    _TOTAL_TABLE.c.org_pk,
    _TOTAL_TABLE.c.month,
    *(_TOTAL_TABLE.c[f] for f in FIGURES),
).where(tuple_(_TOTAL_TABLE.c.org_pk, _TOTAL_TABLE.c.month).in_(bindparam("keys", expanding=True)))
"""Built once, so SQLAlchemy compiles them once."""


@dataclass(frozen=True, slots=True)
class NewAlert:
    org_pk: int
    type: str
    resource: str
    month: str
    level: int
    usage: int
    allowance: int
    projected_usage: int | None = None
    projected_exhaustion_at: int | None = None


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class AlertDetector:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        # One entry: (the tenancy generation it was read under, the plan). The stamp is
        # kept in the value, so a write can use the last plan and check its stamp with
        # the same statement that reads the totals.
        self._plans: BoundedCache[str, tuple[str, Plan]] = BoundedCache(1)
        # (org, resource, month, level) seen already recorded: alerts are never removed,
        # so this only saves a statement that would do nothing. Only conflicts seen in
        # the database are remembered, never this process's own uncommitted inserts.
        self._recorded: BoundedCache[tuple[int, str, str, int], bool] = BoundedCache(100_000)

    def plan(self, conn: Connection) -> Plan:
        """The plan of the current tenancy generation (read with one statement)."""
        return self._current(conn, conn.execute(_GENERATION).scalar() or "")

    def _current(self, conn: Connection, stamp: str) -> Plan:
        cached = self._plans.peek("plan")
        if cached is not None and cached[0] == stamp:
            return cached[1]
        plan = read_plan(conn)
        self._plans.put("plan", (stamp, plan))
        return plan

    def after_write(self, conn: Connection, added: Mapping[MonthKey, Sequence[int]]) -> None:
        """Record what the write that just added ``added`` (per FIGURES) made true.

        One statement in the common case: the touched months of the last plan's
        organizations are read together with the generation that plan was made under
        (or the generation alone when none is touched); only a changed generation
        costs a second read."""
        last = self._plans.peek("plan")
        if last is None:
            first = conn.execute(_GENERATION).scalar() or ""
            last = (first, self._current(conn, first))
        stamp, plan = last
        keys = sorted(key for key in added if key[0] in plan.orgs)
        if keys:
            generation, after = _totals(conn, keys)
        else:
            generation, after = conn.execute(_GENERATION).scalar() or "", {}
        if generation != stamp:
            plan = self._current(conn, generation)
            keys = sorted(key for key in added if key[0] in plan.orgs)
            if not keys:
                return
            after = _totals(conn, keys)[1]
        now = self._clock.now()
        pace = _Pace.at(now)
        candidates: list[NewAlert] = []
        for key in keys:
            values = after.get(key)
            if values is not None:
                candidates += _candidates(plan, key, values, added[key], pace)
        if candidates:
            self._record(conn, plan, candidates, now)

    def sweep(self, conn: Connection, months: Collection[str]) -> int:
        """Record everything the stored state of ``months`` makes true (an apply, the
        hourly forecast): one read of the totals, one of the alerts already recorded."""
        plan = self.plan(conn)
        now = self._clock.now()
        candidates: list[NewAlert] = []
        pace = _Pace.at(now)
        for key, values in _all_totals(conn, plan.orgs, months).items():
            candidates += _candidates(plan, key, values, None, pace)
        if not candidates:
            return 0
        recorded = _recorded(conn, plan.orgs, months)
        fresh = [c for c in candidates if (c.org_pk, c.resource, c.month, c.level) not in recorded]
        return self._record(conn, plan, fresh, now)

    def _record(
        self, conn: Connection, plan: Plan, candidates: Iterable[NewAlert], now: datetime
    ) -> int:
        now_ms = _ms(now)
        recorded = 0
        for alert in candidates:
            memo = (alert.org_pk, alert.resource, alert.month, alert.level)
            if self._recorded.peek(memo):
                continue
            org = plan.orgs[alert.org_pk]
            pk = conn.execute(_INSERT_ALERT, _params(alert, org, now)).scalar()
            if pk is None:
                self._recorded.put(memo, True)
                continue
            recorded += 1
            org_id = org.org_id
            rows = [
                {
                    "alert_pk": pk,
                    "webhook_pk": hook.pk,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now_ms,
                }
                for hook in plan.webhooks
                if hook.matches(org_id, alert.type)
            ]
            if rows:
                conn.execute(insert(at.webhook_deliveries), rows)
        return recorded


def _params(alert: NewAlert, org: OrgPlan, now: datetime) -> dict[str, object]:
    alert_id, now_ms, moment = str(uuid.uuid4()), _ms(now), format_datetime(now)
    resource = resource_named(alert.resource)
    exhaustion = alert.projected_exhaustion_at
    data = {
        "resource": alert.resource,
        "month": alert.month,
        "threshold": alert.level if alert.type == THRESHOLD_CROSSED else None,
        "usage": amount(resource, alert.usage),
        "limit": amount(resource, alert.allowance),
        "crossedAt": moment,
        "projectedUsage": amount(resource, alert.projected_usage),
        "projectedExhaustionAt": None
        if exhaustion is None
        else format_datetime(datetime.fromtimestamp(exhaustion / 1000, UTC)),
    }
    organization = {"id": org.org_id, "uuid": org.uuid, "name": org.name}
    body = payload(alert_id, alert.type, moment, organization, data)
    return {
        "id": alert_id,
        "body": orjson.dumps(body).decode(),
        "type": alert.type,
        "org_pk": alert.org_pk,
        "resource": alert.resource,
        "month": alert.month,
        "level": alert.level,
        "threshold": alert.level if alert.type == THRESHOLD_CROSSED else None,
        "usage": alert.usage,
        "allowance": alert.allowance,
        "projected_usage": alert.projected_usage,
        "projected_exhaustion_at": alert.projected_exhaustion_at,
        "created_at": now_ms,
        "crossed_at": now_ms,
    }


@dataclass(frozen=True, slots=True)
class _Pace:
    """The current month at ``now``, computed once per write."""

    now: datetime
    label: str
    elapsed: float
    length: float

    @classmethod
    def at(cls, now: datetime) -> _Pace:
        month = Month.of(now.date())
        elapsed = (now - month.start).total_seconds()
        return cls(now, str(month), elapsed, float(month.length * 86400))

    def may_forecast(self, usage: int, allowance: int) -> bool:
        """A cheap necessary condition of ``domain.alerts.forecast`` (which decides)."""
        return (
            0 < usage < allowance
            and self.elapsed >= 86400
            and usage * self.length >= allowance * self.elapsed * 0.999
        )


def _candidates(
    plan: Plan,
    key: MonthKey,
    after: Sequence[int],
    added: Sequence[int] | None,
    pace: _Pace,
) -> list[NewAlert]:
    """Alerts of one (organization, month): thresholds this write crossed (or, without
    ``added``, every threshold reached) and the forecast of the current month."""
    org_pk, label = key
    org = plan.orgs[org_pk]
    settings = org.settings(label)
    forecasting = org.rule.forecast and label == pace.label
    out: list[NewAlert] = []
    for resource in RESOURCES:
        allowance = getattr(settings, resource.allowance_field)
        if not allowance or allowance <= 0:
            continue
        place = _FIGURE[resource.total_column]
        usage = after[place]
        before = None if added is None else usage - added[place]
        for threshold in org.rule.thresholds:  # ascending
            level = threshold * allowance
            if 100 * usage < level:
                break
            if before is None or 100 * before < level:
                out.append(
                    NewAlert(
                        org_pk, THRESHOLD_CROSSED, resource.name, label, threshold, usage, allowance
                    )
                )
        if forecasting and pace.may_forecast(usage, allowance):
            projection = forecast(Month.parse(label), pace.now, usage, allowance)
            if projection is not None:
                out.append(
                    NewAlert(
                        org_pk,
                        FORECAST_EXCEEDED,
                        resource.name,
                        label,
                        FORECAST_LEVEL,
                        usage,
                        allowance,
                        projection.projected_usage,
                        _ms(projection.exhaustion_at),
                    )
                )
    return out


def _totals(
    conn: Connection, keys: Sequence[MonthKey]
) -> tuple[str, dict[MonthKey, tuple[int, ...]]]:
    """The generation and the totals of ``keys`` (which the write just upserted)."""
    found: dict[MonthKey, tuple[int, ...]] = {}
    generation = ""
    for start in range(0, len(keys), _IN_CHUNK):
        rows = conn.execute(_TOTALS, {"keys": list(keys[start : start + _IN_CHUNK])})
        for stamp, org_pk, month, *values in rows:
            generation = stamp or ""
            found[(org_pk, month)] = tuple(int(v) for v in values)
    return generation, found


def _recorded(
    conn: Connection, org_pks: Collection[int], months: Collection[str]
) -> set[tuple[int, str, str, int]]:
    a = at.usage_alerts
    query = select(a.c.org_pk, a.c.resource, a.c.month, a.c.level).where(
        a.c.month.in_(sorted(months))
    )
    return {(o, r, m, lv) for o, r, m, lv in conn.execute(query) if o in org_pks}


def _all_totals(
    conn: Connection, org_pks: Collection[int], months: Collection[str]
) -> dict[MonthKey, tuple[int, ...]]:
    table = t.usage_totals_monthly
    found: dict[MonthKey, tuple[int, ...]] = {}
    ordered = sorted(org_pks)
    for start in range(0, len(ordered), _IN_CHUNK):
        query = select(table.c.org_pk, table.c.month, *(table.c[f] for f in FIGURES)).where(
            table.c.org_pk.in_(ordered[start : start + _IN_CHUNK])
        )
        query = query.where(table.c.month.in_(sorted(months)))
        for org_pk, month, *values in conn.execute(query):
            found[(org_pk, month)] = tuple(int(v) for v in values)
    return found
