"""A large ledger and its matching rollups, written in bulk (``corrections_cost``).

Sending 10M events through ingestion would take most of an hour, so the bench writes
the ledger directly: raw events (the mix below, automation jobs included, 3 % of API
calls with a non-billable status), one adjustment every ``_ADJUST_EVERY`` rows and one
metering-flush record every ``_FLUSH_EVERY`` rows, in time order as they would have
arrived. The payloads are the canonical stored form (``tests/unit/bench`` checks them
against ``canonical_payload``); the rows go in with ``executemany`` on SQLite and
``COPY`` on PostgreSQL, every engine fed from the same generated chunk.

The rollups are folded while generating (the same keys the write paths fold, checked
against ``usage_deltas`` by the same test) and written month by month through the real
``RollupWriter``, so they are exactly what ingestion would have stored.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import orjson

from tallyboard.domain.corrections import adjustment_deltas, event_from_payload
from tallyboard.domain.rollup import RollupDeltas
from tallyboard.domain.usage import AiResource

__all__ = ["Chunk", "LedgerGenerator"]

_DAY_MS = 86_400_000
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_CHUNK = 50_000
_ADJUST_EVERY = 5_000
_FLUSH_EVERY = 1_000
SOURCE = "bench"
OPERATIONS = [f"Operation{i:02d}" for i in range(30)]
TOKENS = [f"token-{i}" for i in range(6)]
FLOWS = [f"flow-{i}" for i in range(30)]
AGENTS = [f"agt-{i}" for i in range(10)]
AUTOMATIONS = [f"auto-{i}" for i in range(25)]
MIX = (("api.call", 0.5), ("integration.task", 0.15), ("ai.credit", 0.15), ("automation.job", 0.2))
_TYPE_CODES = {"api.call": 1, "integration.task": 2, "ai.credit": 3, "automation.job": 4}


@dataclass
class Chunk:
    """Rows in column order of ``events``, ``adjustments`` and ``metering_ledger``."""

    events: list[tuple[Any, ...]] = field(default_factory=list)
    adjustments: list[tuple[Any, ...]] = field(default_factory=list)
    flushes: list[tuple[Any, ...]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.events) + len(self.adjustments) + len(self.flushes)


def _pick(values: Sequence[Any], fraction: float) -> Any:
    """``values[i]`` for a uniform ``fraction`` in [0, 1) (cheaper than ``randrange``)."""
    return values[int(fraction * len(values))]


def _kind(fraction: float) -> str:
    for kind, weight in MIX:
        if fraction < weight:
            return kind
        fraction -= weight
    return MIX[-1][0]


def _digest(payload: bytes) -> bytes:
    return hashlib.sha256(payload).digest()[:16]


class LedgerGenerator:
    """``rows`` ledger rows over ``[start_ms, end_ms)`` for organizations ``org_pks``.

    Iterating yields chunks; ``on_month_done(deltas)`` receives each finished month's
    folded rollups (memory: one month's distinct figures)."""

    def __init__(
        self,
        org_pks: Sequence[int],
        rows: int,
        start_ms: int,
        end_ms: int,
        *,
        seed: int = 11,
        voids: int = 0,
    ) -> None:
        self.org_pks = list(org_pks)
        self.rows = rows
        self.start_ms, self.span = start_ms, end_ms - start_ms
        self.rng = random.Random(seed)
        self.void_sample = set(self.rng.sample(range(rows), min(voids, rows)))
        self.voided: list[tuple[int, str]] = []
        """(org pk, event id) of the events picked for the void timings."""
        self.counts = {"events": 0, "adjustments": 0, "flushes": 0}
        self._days: dict[int, date] = {}

    def _day(self, time_ms: int) -> date:
        number = time_ms // _DAY_MS
        day = self._days.get(number)
        if day is None:
            day = self._days[number] = date.fromordinal(_EPOCH_ORDINAL + number)
        return day

    def chunks(self, on_month_done: Callable[[RollupDeltas], None]) -> Iterator[Chunk]:
        deltas, month = RollupDeltas(), None
        chunk = Chunk()
        random, orgs, pick = self.rng.random, self.org_pks, _pick
        for n in range(self.rows):
            time_ms = self.start_ms + n * self.span // self.rows + int(random() * 1000)
            day = self._day(time_ms)
            if month is not None and (day.year, day.month) != month:
                on_month_done(deltas)
                deltas = RollupDeltas()
            month = (day.year, day.month)
            org_pk = pick(orgs, random())
            if n % _ADJUST_EVERY == _ADJUST_EVERY - 1:
                chunk.adjustments.append(self._adjustment(n, org_pk, time_ms, deltas))
            elif n % _FLUSH_EVERY == _FLUSH_EVERY - 1:
                chunk.flushes.append(self._flush(n, org_pk, day, deltas))
            else:
                kind = _kind(random())
                chunk.events.append(self._event(n, org_pk, kind, time_ms, day, deltas))
            if n % _CHUNK == _CHUNK - 1:
                yield chunk
                chunk = Chunk()
        if len(chunk):
            yield chunk
        on_month_done(deltas)

    def _event(
        self, n: int, org_pk: int, kind: str, time_ms: int, day: date, deltas: RollupDeltas
    ) -> tuple[Any, ...]:
        payload = self._payload(org_pk, kind, time_ms, day, deltas)
        event_id = f"e{n}"
        if n in self.void_sample:
            self.voided.append((org_pk, event_id))
        self.counts["events"] += 1
        received = time_ms + 200
        return (org_pk, SOURCE, event_id, _TYPE_CODES[kind], time_ms, _digest(payload), payload,
                received, None)  # fmt: skip

    def _payload(
        self, org_pk: int, kind: str, time_ms: int, day: date, deltas: RollupDeltas
    ) -> bytes:
        """The canonical payload of one event, folded into ``deltas`` as the writer would."""
        random = self.rng.random
        head = f'{{"type":"{kind}","time":{time_ms},"data":'
        if kind == "api.call":
            operation = OPERATIONS[min(int(-math.log(1.0 - random()) / 0.15), len(OPERATIONS) - 1)]
            token = _pick(TOKENS, random())
            status = 500 if random() < 0.03 else 200
            count = 1 if random() < 0.9 else 1 + int(random() * 20)
            if status == 200:
                deltas.add_api_calls((org_pk, day, operation, token), count)
            body = (f'{{"operationName":"{operation}","tokenName":"{token}",'
                    f'"status":{status},"count":{count}}}}}')  # fmt: skip
        elif kind == "integration.task":
            flow, tasks = _pick(FLOWS, random()), int(random() * 10)
            deltas.add_flow_run((org_pk, day, flow), tasks, time_ms // 1000)
            body = (f'{{"flowId":"{flow}","flowName":"Flow {flow}","project":null,'
                    f'"tasks":{tasks}}}}}')  # fmt: skip
        elif kind == "ai.credit":
            micro = 1_000 * (1 + int(random() * 5_000))
            if random() < 0.8:
                agent = _pick(AGENTS, random())
                deltas.add_credits((org_pk, day, AiResource.AI_AUTOMATION, agent), micro)
                body = (f'{{"resource":"ai_automation","agentId":"{agent}",'
                        f'"agentName":"Agent {agent}","microCredits":{micro}}}}}')  # fmt: skip
            else:
                deltas.add_credits((org_pk, day, AiResource.ASSISTANT, ""), micro)
                body = (f'{{"resource":"assistant","agentId":null,"agentName":null,'
                        f'"microCredits":{micro}}}}}')  # fmt: skip
        else:
            automation, jobs = _pick(AUTOMATIONS, random()), 1 + int(random() * 3)
            deltas.add_jobs((org_pk, day, automation), jobs, time_ms)
            body = (f'{{"automationId":"{automation}","automationName":null,'
                    f'"jobs":{jobs}}}}}')  # fmt: skip
        return (head + body).encode()

    def _adjustment(
        self, n: int, org_pk: int, time_ms: int, deltas: RollupDeltas
    ) -> tuple[Any, ...]:
        """A goodwill adjustment (positive, so no figure can go below zero)."""
        kind = _kind(self.rng.random())
        payload = self._payload(org_pk, kind, time_ms, self._day(time_ms), RollupDeltas())
        adjustment_id = f"adj-{n}"
        event = event_from_payload(org_pk, "", adjustment_id, "", payload)
        deltas.merge(adjustment_deltas(event))
        self.counts["adjustments"] += 1
        return (org_pk, adjustment_id, _TYPE_CODES[kind], time_ms, _digest(payload), payload,
                "bench goodwill", time_ms + 1000)  # fmt: skip

    def _flush(self, n: int, org_pk: int, day: date, deltas: RollupDeltas) -> tuple[Any, ...]:
        """One metering flush's record for one organization-day (a few calls)."""
        rng = self.rng
        calls: dict[tuple[str, str], int] = {}
        for _ in range(1 + rng.randrange(8)):
            key = (OPERATIONS[rng.randrange(len(OPERATIONS))], TOKENS[rng.randrange(len(TOKENS))])
            calls[key] = calls.get(key, 0) + 1 + rng.randrange(50)
        for (operation, token), count in calls.items():
            deltas.add_api_calls((org_pk, day, operation, token), count)
        self.counts["flushes"] += 1
        rows = [[operation, token, count] for (operation, token), count in sorted(calls.items())]
        return (f"flush-{n:012d}", org_pk, day.isoformat(), orjson.dumps(rows))
