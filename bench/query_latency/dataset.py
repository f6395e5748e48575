"""The query-latency data sets: rollup rows of one organization per size, generated
with Zipf-like skew (see the package docstring), and the raw calls of the naive table."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import repeat
from typing import Any

from bench.query_latency.automation_data import agent_fields, automation_tables
from bench.query_latency.plan import NOT_SPECIFIED, Tier

_VERBS = ("get", "list", "create", "update", "delete", "search", "sync", "export")
_NOUNS = (
    "User", "Invoice", "Order", "Customer", "Project", "Task", "Flow", "Agent", "Report",
    "Payment", "Subscription", "Ticket", "Comment", "File", "Team", "Role", "Webhook",
    "Product", "Quote", "Contract", "Lead", "Deal", "Event", "Message", "Label",
)  # fmt: skip
_FLOW_VERBS = ("Sync", "Copy", "Notify", "Archive", "Enrich", "Route")
_SYSTEMS = ("Salesforce", "HubSpot", "Slack", "Jira", "Zendesk", "Stripe", "SAP", "Sheets")
_TEAMS = ("Sales", "Finance", "Support", "Ops", "Marketing", "HR", "Legal", "IT")
_FIRST_NAMES = ("Ada", "Bo", "Chen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ivo", "Jo")


def _operation_names(count: int) -> list[str]:
    names = [f"{verb}{noun}" for noun in _NOUNS for verb in _VERBS]
    suffix = 2
    while len(names) < count:
        names += [f"{verb}{noun}V{suffix}" for noun in _NOUNS for verb in _VERBS]
        suffix += 1
    random.Random(7).shuffle(names)
    chosen = names[: count - 1]
    chosen.insert(2, NOT_SPECIFIED)  # the third most frequent "name" is no name at all
    return chosen


def _token_labels(count: int) -> list[str]:
    labels = []
    for i in range(count):
        if i % 3 == 2:
            labels.append(f"{_FIRST_NAMES[i % 10]} {i} - Python Integration")
        else:
            labels.append(f"{_SYSTEMS[i % 8].lower()}-bot-{i}")
    return labels


def _zipf(count: int, s: float) -> list[float]:
    weights = [1.0 / (rank + 1) ** s for rank in range(count)]
    total = sum(weights)
    return [w / total for w in weights]


def _split(total: float, shares: Sequence[float], rng: random.Random) -> list[int]:
    """Integer counts close to ``total x share`` with randomized rounding."""
    counts = []
    for share in shares:
        expected = total * share
        whole = int(expected)
        counts.append(whole + (1 if rng.random() < expected - whole else 0))
    return counts


def days_of(today: date) -> list[date]:
    """The first day of the month two months ago up to today (the last_3_months window)."""
    month = today.month - 2
    year = today.year
    if month < 1:
        month += 12
        year -= 1
    first = date(year, month, 1)
    return [first + timedelta(days=i) for i in range((today - first).days + 1)]


def epoch(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@dataclass
class OrgData:
    """Rows of one organization, without ``org_pk`` (prepended at load time)."""

    tier: Tier
    tables: dict[str, list[tuple[Any, ...]]]
    api_by_day: list[tuple[int, list[int], list[int]]]
    """Per day index: (total, calls per operation, calls per token) -- the raw calls."""
    operations: list[str]
    tokens: list[str]
    calls: int


Tables = dict[str, list[tuple[Any, ...]]]
"""Rows per table name, without ``org_pk``."""
ApiByDay = list[tuple[int, list[int], list[int]]]


def generate(tier: Tier, days: list[date], seed: int, now_s: int) -> OrgData:
    """One organization of ``tier``; the same seed gives the same rows (one random
    stream, drawn in this order: API calls, integrations, AI credits)."""
    rng = random.Random(seed)
    tables: Tables = defaultdict(list)
    api_by_day, operations, tokens = _api_calls(tier, days, rng, tables)
    _integrations(tier, days, rng, tables, now_s)
    _ai_credits(tier, days, rng, tables)
    tables.update(automation_tables(tier, days, seed, now_s * 1000))
    tables["agents"] = [
        (*row, *agent_fields(int(row[0][4:]), tier.pipes)) for row in tables["agents"]
    ]
    calls = sum(total for total, _, _ in api_by_day)
    return OrgData(tier, dict(tables), api_by_day, operations, tokens, calls)


def _api_calls(
    tier: Tier, days: list[date], rng: random.Random, tables: Tables
) -> tuple[ApiByDay, list[str], list[str]]:
    """Weekly pattern and a mild trend, Zipf-skewed names and tokens."""
    weights = [
        (0.45 if day.weekday() >= 5 else 1.0) * (1 + 0.3 * i / len(days))
        for i, day in enumerate(days)
    ]
    scale = tier.calls / sum(weights)
    operations = _operation_names(tier.operations)
    tokens = _token_labels(tier.tokens)
    op_shares, token_shares = _zipf(len(operations), 1.1), _zipf(len(tokens), 1.3)
    daily: list[tuple[Any, ...]] = []
    monthly: dict[tuple[str, int, str], int] = defaultdict(int)
    api_by_day = []
    for day, weight in zip(days, weights, strict=True):
        label, month = day.isoformat(), day.isoformat()[:7]
        per_op = _split(scale * weight, op_shares, rng)
        total = sum(per_op)
        per_token = _split(total, token_shares, rng)
        per_token[0] += total - sum(per_token)
        if per_token[0] < 0:
            raise AssertionError("token split went negative")
        api_by_day.append((total, per_op, per_token))
        if total == 0:
            continue
        daily.append((label, 0, "", total))
        monthly[(month, 0, "")] += total
        for dimension, values, counts in ((1, operations, per_op), (2, tokens, per_token)):
            for value, calls in zip(values, counts, strict=True):
                if calls:
                    daily.append((label, dimension, value, calls))
                    monthly[(month, dimension, value)] += calls
    tables["api_calls_daily"] = daily
    tables["api_calls_monthly"] = [(*key, calls) for key, calls in sorted(monthly.items())]
    return api_by_day, operations, tokens


def _integrations(
    tier: Tier, days: list[date], rng: random.Random, tables: Tables, now_s: int
) -> None:
    """A catalog of flows in projects; a few hot flows run every day, the long tail runs
    now and then, some never ran in the period."""
    projects = max(3, tier.flows // 40)
    for p in range(projects):
        tables["projects"].append(
            (
                f"prj-{p:04d}",
                f"{_TEAMS[p % 8]} {p}",
                ["cart", None][p % 2],
                ["blue", None][p % 3 % 2],
                0,
            )
        )
    flow_daily: list[tuple[Any, ...]] = []
    flow_monthly: dict[tuple[str, str], list[int]] = {}
    task_daily: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in range(tier.flows):
        flow_id = f"flow-{f:05d}"
        if f % 50 != 49:  # 2% are known only from their usage (no catalog row)
            name = f"{_FLOW_VERBS[f % 6]} {_NOUNS[f % 25]}s to {_SYSTEMS[f % 8]} {f}"
            project = f"prj-{rng.randrange(projects):04d}" if f % 10 else None
            status = "DISABLED" if f % 7 == 3 else "ENABLED"
            tables["flows"].append((flow_id, name, project, status, 0))
        if f % 10 == 9:
            continue  # 10% never ran in the window
        p_active = max(0.04, 1.0 / (1 + f / 40))
        heat = 200.0 / (1 + f) ** 0.8
        for day in days:
            if rng.random() >= p_active:
                continue
            runs = 1 + int(rng.expovariate(1.0) * heat)
            tasks = runs * rng.randint(1, 6)
            last = min(now_s, epoch(day) + rng.randrange(86_400))
            label = day.isoformat()
            flow_daily.append((label, flow_id, tasks, runs, last))
            row = flow_monthly.setdefault((label[:7], flow_id), [0, 0, 0])
            row[0] += tasks
            row[1] += runs
            row[2] = max(row[2], last)
            total_row = task_daily[label]
            total_row[0] += tasks
            total_row[1] += runs
    tables["flow_usage_daily"] = flow_daily
    tables["flow_usage_monthly"] = [(*k, *v) for k, v in sorted(flow_monthly.items())]
    tables["task_usage_daily"] = [(k, *v) for k, v in sorted(task_daily.items())]


def _ai_credits(tier: Tier, days: list[date], rng: random.Random, tables: Tables) -> None:
    """Zipf-skewed agents (some deleted, a few never named) + assistants."""
    credit_daily: list[tuple[Any, ...]] = []
    credit_monthly: dict[tuple[str, int, str], int] = defaultdict(int)
    agent_shares = _zipf(tier.agents, 1.0)
    for a, share in enumerate(agent_shares):
        agent_id = f"agt-{a:04d}"
        if a % 40 != 39:
            tables["agents"].append((agent_id, f"Agent {_NOUNS[a % 25]} {a}", a % 20 == 7, 0))
        p_active = min(1.0, 0.1 + share * 20)
        for day in days:
            if rng.random() < p_active:
                micro = int(share * 5_000_000_000 * rng.uniform(0.5, 1.5) / len(days)) + 1
                credit_daily.append((day.isoformat(), 1, agent_id, micro))
                credit_monthly[(day.isoformat()[:7], 1, agent_id)] += micro
    for day in days:
        micro = rng.randrange(1_000_000, 40_000_000)
        credit_daily.append((day.isoformat(), 2, "", micro))
        credit_monthly[(day.isoformat()[:7], 2, "")] += micro
    tables["ai_credits_daily"] = credit_daily
    tables["ai_credits_monthly"] = [(*k, v) for k, v in sorted(credit_monthly.items())]


def naive_rows(org_pk: int, data: OrgData, days: list[date]) -> Iterator[tuple[Any, ...]]:
    """One row per API call: exactly the calls the rollups of ``data`` count."""
    for day, (total, per_op, per_token) in zip(days, data.api_by_day, strict=True):
        if not total:
            continue
        ops: list[str] = []
        for name, calls in zip(data.operations, per_op, strict=True):
            ops += [name] * calls
        toks: list[str] = []
        for label, calls in zip(data.tokens, per_token, strict=True):
            toks += [label] * calls
        start, step = epoch(day) * 1000, 86_400_000 // total
        yield from zip(repeat(org_pk), range(start, start + step * total, step), ops, toks)
