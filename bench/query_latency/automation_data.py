"""The automations of a query-latency organization (spec §9): pipes, the automation
catalog and jobs per automation per day and per month, plus the agents' catalog fields.

Rows have exactly the shape the write path gives them (``storage/tables_automation.py``,
``storage/rollup_writer.py``, ``storage/named_entries.py``): an automation known only
from its events has a catalog row with a null name, status ``active`` and its first
event's time; jobs rows carry the latest job's epoch ms. Jobs are spread over the
automations with Zipf skew (s = 1.0): the hot ones run every day, the long tail on a
few days, 10% never in the window; weekdays get twice the weekend's jobs. The number
of automations (and pipes) grows with the size, as it does in real tenants.

A separate random stream (seeded from the organization's seed) keeps the rows of the
older queries identical to what they were before automations existed.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any

from bench.query_latency.plan import Tier

__all__ = [
    "AUTOMATION_COLUMNS",
    "AUTOMATION_SEARCH",
    "PIPE_COLUMNS",
    "agent_fields",
    "automation_tables",
]

PIPE_COLUMNS = ("pipe_id", "uuid", "name", "icon", "color", "created_at", "applied")
AUTOMATION_COLUMNS = (
    "automation_id", "name", "name_at", "deleted", "action", "event", "status",
    "action_pipe", "event_pipe", "tags", "created_by", "created_at", "first_event_at",
    "updated_at",
)  # fmt: skip
"""The columns of the ``pipes`` and ``automations`` rows below (``org_pk`` aside)."""

_ACTIONS = (
    "create_card", "move_card", "update_field", "send_email", "create_record",
    "http_request", "assign_user", "archive_card",
)  # fmt: skip
_EVENTS = (
    "card_created", "card_moved", "field_updated", "card_done", "email_received",
    "scheduler", "sla_late", "record_created",
)  # fmt: skip
_TAGS = ("sales", "support", "finance", "ops", "onboarding", "sla", "crm", "ai")
_NOUNS = ("deals", "leads", "tickets", "invoices", "orders", "requests", "candidates")
_SYSTEMS = ("Sales", "Support", "Finance", "Ops", "Hiring", "Procurement", "Legal", "IT")
_CREATORS = ("bench@bench.test", "ana@acme.test", "bruno@acme.test", "chen@acme.test")
AUTOMATION_SEARCH = "card"
"""The later page's search: about half of the names hold it."""
_DAY_MS = 86_400_000
_NAMESPACE = uuid.UUID("6f1f7a40-5d2b-4e42-9a51-7d0c3b8e2a10")


def _epoch_ms(day: date) -> int:
    return (day.toordinal() - date(1970, 1, 1).toordinal()) * _DAY_MS


def _pipe_id(p: int) -> str:
    return f"pipe-{p:03d}"


def _pipes(tier: Tier, seed: int, created_ms: int) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for p in range(tier.pipes):
        pipe_uuid = str(uuid.uuid5(_NAMESPACE, f"{seed}/{p}"))
        icon, color = ("cart", "blue") if p % 3 == 0 else (None, None)
        name = f"{_SYSTEMS[p % 8]} pipeline {p}"
        rows.append((_pipe_id(p), pipe_uuid, name, icon, color, created_ms, None))
    return rows


def _name(a: int) -> str:
    noun = _NOUNS[a % 7]
    if a % 2 == 0:
        return f"Move {noun} card when {_EVENTS[a % 8].replace('_', ' ')} #{a}"
    return f"{_ACTIONS[a % 8].replace('_', ' ').capitalize()} for {noun} #{a}"


def _catalog_row(a: int, tier: Tier, rng: random.Random, first_ms: int) -> tuple[Any, ...]:
    """One automation: (automation_id, name, name_at, deleted, action, event, status,
    action_pipe, event_pipe, tags, created_by, created_at, first_event_at, updated_at)."""
    automation_id = f"auto-{a:05d}"
    if a % 50 == 49:  # 2% known only from their events: no name, no document fields
        return (automation_id, None, 0, False, None, None, "active",
                None, None, "[]", None, None, first_ms, 0)  # fmt: skip
    created = first_ms - rng.randrange(1, 400) * _DAY_MS
    tags = sorted({_TAGS[a % 8], _TAGS[(a * 7 + 3) % 8]}) if a % 4 else []
    event_pipe = _pipe_id(rng.randrange(tier.pipes))
    action_pipe = event_pipe if a % 3 else _pipe_id(rng.randrange(tier.pipes))
    return (
        automation_id,
        _name(a),
        created,
        a % 50 == 17,  # 2% deleted (listed only while they have jobs in the range)
        _ACTIONS[a % 8],
        _EVENTS[(a * 3) % 8],
        "inactive" if a % 9 == 4 else "active",
        action_pipe,
        event_pipe,
        json.dumps(tags),
        _CREATORS[a % 4] if a % 5 else None,
        created,
        first_ms,
        created + rng.randrange(0, 30) * _DAY_MS,
    )


def automation_tables(
    tier: Tier, days: Sequence[date], seed: int, now_ms: int
) -> dict[str, list[tuple[Any, ...]]]:
    """``pipes``, ``automations``, ``automation_jobs_daily`` and ``_monthly`` rows of one
    organization (without ``org_pk``), about ``tier.calls`` jobs in all."""
    rng = random.Random(seed * 7919 + 13)
    weights = [0.5 if day.weekday() >= 5 else 1.0 for day in days]
    per_weight = tier.calls / sum(weights)
    count = tier.automations
    harmonic = sum(1.0 / (rank + 1) for rank in range(count))
    first_ms = _epoch_ms(days[0])
    daily: list[tuple[Any, ...]] = []
    monthly: dict[tuple[str, str], list[int]] = {}
    catalog = []
    for a in range(count):
        automation_id = f"auto-{a:05d}"
        catalog.append(_catalog_row(a, tier, rng, first_ms))
        if a % 10 == 9:
            continue  # 10% never ran in the window
        share = 1.0 / ((a + 1) * harmonic)
        p_active = max(0.04, min(1.0, share * count / 3))
        for day, weight in zip(days, weights, strict=True):
            if rng.random() >= p_active:
                continue
            jobs = max(1, int(share * per_weight * weight / p_active * rng.uniform(0.6, 1.4)))
            last = min(now_ms, _epoch_ms(day) + rng.randrange(_DAY_MS))
            label = day.isoformat()
            daily.append((label, automation_id, jobs, last))
            row = monthly.setdefault((label[:7], automation_id), [0, 0])
            row[0] += jobs
            row[1] = max(row[1], last)
    return {
        "pipes": _pipes(tier, seed, first_ms - 500 * _DAY_MS),
        "automations": catalog,
        "automation_jobs_daily": daily,
        "automation_jobs_monthly": [(*key, *value) for key, value in sorted(monthly.items())],
    }


def agent_fields(a: int, pipes: int) -> tuple[Any, ...]:
    """The §9 catalog fields of agent ``a``: (action, event, status, action_pipe,
    event_pipe, tags, created_by, created_at, updated_at); deterministic."""
    created = 1_735_689_600_000 + a * 3_600_000  # 2025-01-01 plus an hour per agent
    pipe = _pipe_id(a % pipes) if pipes and a % 3 else None
    return (
        "ai_agent",
        _EVENTS[a % 8],
        "inactive" if a % 11 == 5 else "active",
        pipe,
        pipe,
        json.dumps([_TAGS[a % 8]]),
        _CREATORS[a % 4],
        created,
        created + 86_400_000,
    )
