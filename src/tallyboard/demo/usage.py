"""Months of believable usage, as the spec's events (docs/ingest.md).

Pure apart from arithmetic: no I/O and no clock (``now`` is an argument), and every
random draw comes from a generator seeded by (seed, organization, day), so the same
seed and ``now`` always give the same events, whatever order the days are asked in.

What makes it look real:

- API calls follow the working day of each organization's time zone, drop at the
  weekend, grow over the months and wobble from day to day; a few days carry a spike
  from one runaway integration. Operations and tokens are Zipf-skewed: a handful do
  most of the calls. Gateways report aggregated counts (one event per operation and
  token per flush), a few with statuses that do not count (401, 429, 500).
- Integration flows run on schedules (some on weekdays only), start late, stop, or
  never run; each run consumes a noisy number of tasks.
- AI agents run many times a day for fractional credits; assistants are used in
  working hours; a deleted agent's usage stops when it was deleted.
- Automations fire jobs on the working week (``demo/automations.py``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tallyboard.demo.automations import jobs_of_day
from tallyboard.demo.world import Flow, OrgProfile
from tallyboard.domain.periods import Month
from tallyboard.domain.usage import is_billable_status

__all__ = ["DEFAULT_SEED", "DayOfUsage", "UsageGenerator", "history_start"]

DEFAULT_SEED = 20261121
_CALLS_PER_EVENT = 30
"""About how many calls a gateway aggregates into one event (one flush of one key)."""
_MAX_EVENTS_PER_HOUR = 60
_ZIPF = 1.15
_HEAVY_DAYS = 3
_ODD_STATUSES = ((0.02, 404), (0.006, 429), (0.004, 500), (0.002, 401))
_MICRO_PER_CENT = 10_000


def history_start(now: datetime) -> date:
    """The first day of the demo's history: the 1st of the month three months ago, so
    "last 3 months" is fully populated and a month before it exists too."""
    return Month.of(now.date()).shift(-3).first_day


@dataclass
class DayOfUsage:
    day: date
    events: list[dict[str, Any]] = field(default_factory=list)
    api_calls: int = 0
    """Billable calls (statuses that count)."""
    tasks: int = 0
    micro_credits: int = 0
    jobs: int = 0


def _hour_weights(utc_offset: int) -> list[float]:
    """Activity per UTC hour: a working day peaking late morning and mid-afternoon."""
    weights = []
    for hour in range(24):
        local = (hour + utc_offset) % 24
        weights.append(
            0.06
            + math.exp(-((local - 10.5) ** 2) / 8.0)
            + 0.8 * math.exp(-((local - 15.0) ** 2) / 6.0)
        )
    return weights


def _zipf(count: int) -> list[float]:
    return [1.0 / (rank + 1) ** _ZIPF for rank in range(count)]


class UsageGenerator:
    def __init__(
        self, organizations: tuple[OrgProfile, ...], now: datetime, seed: int = DEFAULT_SEED
    ) -> None:
        self._orgs = organizations
        self._now = now.astimezone(UTC)
        self._seed = seed
        self._start = history_start(self._now)
        self._span = max(1, (self._now.date() - self._start).days)
        self._hours = {org.id: _hour_weights(org.utc_offset) for org in organizations}
        self._heavy = {org.id: self._heavy_days(org) for org in organizations}

    @property
    def start(self) -> date:
        return self._start

    def days(self) -> list[date]:
        return [self._start + timedelta(days=i) for i in range(self._span + 1)]

    def generate(self) -> Iterator[DayOfUsage]:
        for day in self.days():
            yield self.day(day)

    def day(self, day: date) -> DayOfUsage:
        usage = DayOfUsage(day)
        for org in self._orgs:
            if self._progress(day) < org.joined:
                continue
            rng = random.Random(f"{self._seed}:{org.id}:{day.isoformat()}")
            ids = _Ids(org.id, day)
            self._api_calls(org, day, rng, ids, usage)
            self._tasks(org, day, rng, ids, usage)
            self._credits(org, day, rng, ids, usage)
            growth = self._growth(org, day)
            jobs = jobs_of_day(
                org.id, org.uuid, day, self._progress(day), growth, self._seed, self._moment
            )
            usage.events += jobs
            usage.jobs += sum(event["data"]["jobs"] for event in jobs)
        return usage

    # ------------------------------------------------------------------ rhythm

    def _progress(self, day: date) -> float:
        """Where ``day`` lies in the history: 0 on the first day, 1 today."""
        return (day - self._start).days / self._span

    def _growth(self, org: OrgProfile, day: date) -> float:
        """1 when the organization joined, ``org.growth`` today."""
        lived = (self._progress(day) - org.joined) / max(1e-9, 1 - org.joined)
        return 1 + (org.growth - 1) * min(1.0, max(0.0, lived))

    @staticmethod
    def _weekday(org: OrgProfile, day: date) -> float:
        return (1.08, 1.02, 1.0, 0.97, 0.86, org.weekend, org.weekend * 0.8)[day.weekday()]

    def _heavy_days(self, org: OrgProfile) -> dict[date, float]:
        rng = random.Random(f"{self._seed}:{org.id}:heavy")
        first = math.ceil(org.joined * self._span)
        candidates = [
            self._start + timedelta(days=i)
            for i in range(first, self._span + 1)
            if (self._start + timedelta(days=i)).weekday() < 5
        ]
        picked = rng.sample(candidates, min(_HEAVY_DAYS, len(candidates)))
        return {day: rng.uniform(1.6, 3.2) for day in picked}

    def _moment(self, day: date, hour: int, rng: random.Random) -> datetime | None:
        """A random instant of ``hour`` on ``day``, or None when it is still to come."""
        at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC) + timedelta(
            seconds=rng.randrange(3600)
        )
        return at if at <= self._now else None

    # ------------------------------------------------------------------ api.call

    def _api_calls(
        self, org: OrgProfile, day: date, rng: random.Random, ids: _Ids, usage: DayOfUsage
    ) -> None:
        calls = org.calls_per_day * self._growth(org, day) * self._weekday(org, day)
        calls *= rng.lognormvariate(0, 0.12)
        weights = self._hours[org.id]
        total_weight = sum(weights)
        operations = list(org.operations)
        op_weights = _zipf(len(operations))
        callers = [label for label, _ in org.callers]
        caller_weights = [weight for _, weight in org.callers]
        for hour in range(24):
            hour_calls = round(calls * weights[hour] / total_weight)
            if hour_calls <= 0:
                continue
            keys = min(_MAX_EVENTS_PER_HOUR, max(1, round(hour_calls / _CALLS_PER_EVENT)))
            pairs = list(
                zip(
                    rng.choices(operations, op_weights, k=keys),
                    rng.choices(callers, caller_weights, k=keys),
                    strict=True,
                )
            )
            self._emit_calls(org, day, hour, rng, ids, usage, pairs, hour_calls)
        spike = self._heavy[org.id].get(day)
        if spike is not None:
            culprit = [(rng.choice(operations[:4]), rng.choice(callers))]
            start = rng.randrange(8, 18)
            for hour in range(start, start + 3):
                extra = round(calls * spike / 3)
                self._emit_calls(org, day, hour, rng, ids, usage, culprit * 8, extra)

    def _emit_calls(
        self,
        org: OrgProfile,
        day: date,
        hour: int,
        rng: random.Random,
        ids: _Ids,
        usage: DayOfUsage,
        pairs: list[tuple[str | None, str]],
        calls: int,
    ) -> None:
        """Share ``calls`` out over ``pairs`` (random shares), merging repeated pairs the
        way one gateway flush aggregates one key."""
        shares = [rng.expovariate(1.0) for _ in pairs]
        scale = calls / sum(shares)
        merged: dict[tuple[str | None, str], int] = {}
        for pair, share in zip(pairs, shares, strict=True):
            merged[pair] = merged.get(pair, 0) + round(share * scale)
        for (operation, caller), count in merged.items():
            at = self._moment(day, hour, rng)
            if count <= 0 or at is None:
                continue
            status = 200
            draw = rng.random()
            for chance, odd in _ODD_STATUSES:
                if draw < chance:
                    status = odd
                    break
                draw -= chance
            data = {"operationName": operation, "tokenName": caller, "status": status}
            data["count"] = count
            usage.events.append(_event(ids.next("api"), "gateway-1", "api.call", at, org, data))
            if is_billable_status(status):
                usage.api_calls += count

    # ------------------------------------------------------------- integration.task

    def _tasks(
        self, org: OrgProfile, day: date, rng: random.Random, ids: _Ids, usage: DayOfUsage
    ) -> None:
        progress = self._progress(day)
        weekend = day.weekday() >= 5
        growth = 1 + (self._growth(org, day) - 1) * 0.5
        for index, flow in enumerate(org.flows):
            if flow.runs_per_day <= 0 or not flow.starts <= progress <= flow.stops:
                continue
            if weekend and flow.weekdays_only:
                continue
            spacing = 1440 / flow.runs_per_day
            offset = (index * 7) % max(1, int(spacing))
            for run in range(flow.runs_per_day):
                minute = int(offset + run * spacing + rng.uniform(0, 3))
                at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                    minutes=minute, seconds=rng.randrange(60)
                )
                if at > self._now:
                    break
                mean = flow.tasks_per_run * growth * (0.6 if weekend else 1.0)
                tasks = max(0, round(rng.gauss(mean, mean * 0.3)))
                usage.events.append(
                    _event(
                        ids.next("run"),
                        "integrations",
                        "integration.task",
                        at,
                        org,
                        _run(flow, tasks),
                    )
                )
                usage.tasks += tasks

    # --------------------------------------------------------------------- ai.credit

    def _credits(
        self, org: OrgProfile, day: date, rng: random.Random, ids: _Ids, usage: DayOfUsage
    ) -> None:
        progress = self._progress(day)
        factor = self._growth(org, day) * (0.35 if day.weekday() >= 5 else 1.0)
        hours = list(range(24))
        weights = self._hours[org.id]
        for agent in org.agents:
            if progress > agent.stops:
                continue
            runs = max(0, round(rng.gauss(agent.runs_per_day * factor, 2.0)))
            for hour in rng.choices(hours, weights, k=runs):
                cents = max(
                    1, round(rng.gauss(agent.credits_per_run, agent.credits_per_run * 0.35) * 100)
                )
                data = {
                    "resource": "ai_automation",
                    "agentId": agent.id,
                    "agentName": agent.name,
                    "credits": cents / 100,
                }
                self._credit(org, day, hour, rng, ids, usage, data, cents)
        sessions = max(0, round(rng.gauss(org.assistant_sessions_per_day * factor, 2.0)))
        if org.assistant_sessions_per_day <= 0:
            sessions = 0
        for hour in rng.choices(hours, weights, k=sessions):
            cents = max(1, round(rng.expovariate(1 / org.assistant_credits) * 100))
            data = {"resource": "assistant", "credits": cents / 100}
            self._credit(org, day, hour, rng, ids, usage, data, cents)

    def _credit(
        self,
        org: OrgProfile,
        day: date,
        hour: int,
        rng: random.Random,
        ids: _Ids,
        usage: DayOfUsage,
        data: dict[str, Any],
        cents: int,
    ) -> None:
        at = self._moment(day, hour, rng)
        if at is None:
            return
        usage.events.append(_event(ids.next("ai"), "ai-service", "ai.credit", at, org, data))
        usage.micro_credits += cents * _MICRO_PER_CENT


class _Ids:
    """Event ids unique per (organization, source): day and a running number."""

    def __init__(self, org_id: str, day: date) -> None:
        self._prefix = f"{org_id}-{day:%Y%m%d}"
        self._next: dict[str, int] = {}

    def next(self, kind: str) -> str:
        number = self._next.get(kind, 0)
        self._next[kind] = number + 1
        return f"{kind}-{self._prefix}-{number}"


def _run(flow: Flow, tasks: int) -> dict[str, Any]:
    return {
        "flowId": flow.id,
        "flowName": flow.name,
        "project": flow.project.as_document(),
        "tasks": tasks,
    }


def _event(
    event_id: str, source: str, kind: str, at: datetime, org: OrgProfile, data: dict[str, Any]
) -> dict[str, Any]:
    return {
        "id": event_id,
        "source": source,
        "type": kind,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "organization": org.uuid,
        "data": data,
    }
