"""The demo's pipes and automations, and their jobs (spec §9).

A few dozen automations of the kinds a workflow platform runs -- move a card when a
field changes, notify on a late card, create a card from a form -- spread over each
organization's pipes, with tags and creators; some inactive (no jobs), one deleted
halfway through the history (its jobs stop then). Jobs follow the working week (a
weekend is quiet) and grow with the organization. Seeded per (organization, day), on
a generator of their own, so the rest of the demo's usage is unchanged by them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

__all__ = [
    "AUTOMATIONS",
    "PIPES",
    "PLANS",
    "Automation",
    "Pipe",
    "catalog_document",
    "jobs_of_day",
    "with_plan",
]


@dataclass(frozen=True)
class Pipe:
    id: str
    name: str
    icon: str
    color: str


@dataclass(frozen=True)
class Automation:
    id: str
    name: str
    action: str
    event: str
    action_pipe: str
    event_pipe: str
    jobs_per_day: float
    tags: tuple[str, ...] = ()
    created_by: str | None = None
    status: str = "active"
    deleted_at: float | None = None
    """Fraction of the history when it was deleted (its jobs stop)."""


ACME, GLOBEX, INITECH, UMBRELLA = "300123", "300456", "300789", "301001"

PIPES: dict[str, tuple[Pipe, ...]] = {
    ACME: (
        Pipe("sales", "Sales pipeline", "cart", "blue"),
        Pipe("support", "Customer support", "chat", "green"),
        Pipe("hiring", "Hiring", "people", "orange"),
        Pipe("purchasing", "Purchasing", "box", "purple"),
    ),
    GLOBEX: (Pipe("orders", "Orders", "truck", "blue"), Pipe("returns", "Returns", "undo", "red")),
    INITECH: (Pipe("it", "IT requests", "wrench", "grey"),),
    UMBRELLA: (
        Pipe("samples", "Lab samples", "flask", "teal"),
        Pipe("compliance", "Compliance", "shield", "yellow"),
    ),
}

_KINDS = (
    ("Move {} when approved", "move_card", "field_updated", ("routing",)),
    ("Notify owner of late {}", "send_email", "card_late", ("alerts",)),
    ("Create {} from form", "create_card", "form_submitted", ("intake",)),
    ("Assign {} round-robin", "update_field", "card_created", ("routing", "team")),
    ("Archive closed {}", "archive_card", "card_moved", ("cleanup",)),
    ("Sync {} to CRM", "send_http_request", "card_moved", ("integration",)),
)
_CREATORS = {
    ACME: ("ada@acme.example", "grace@acme.example"),
    GLOBEX: ("margaret@globex.example",),
    INITECH: ("peter@initech.example",),
    UMBRELLA: ("albert@umbrella.example",),
}
_VOLUME = {ACME: 60.0, GLOBEX: 35.0, INITECH: 8.0, UMBRELLA: 15.0}
PLANS = {
    ACME: ("Enterprise", 60_000),
    GLOBEX: ("Business", 30_000),
    INITECH: ("Starter", 5_000),
    UMBRELLA: ("Business", 12_000),
}
"""Plan name and monthly automation-job allowance, from the first settings entry on."""


def with_plan(org_id: str, settings: list[dict[str, Any]], first_month: str) -> None:
    """Add the organization's plan to its earliest settings entry (or a new one)."""
    if org_id not in PLANS:
        return
    plan, jobs = PLANS[org_id]
    if not settings:
        settings.append({"effectiveFrom": first_month})
    earliest = min(settings, key=lambda entry: str(entry["effectiveFrom"]))
    earliest["planName"] = plan
    earliest["allowances"] = {**earliest.get("allowances", {}), "automationJobs": jobs}


def _cast(org_id: str) -> tuple[Automation, ...]:
    rng = random.Random(f"automations:{org_id}")
    pipes = PIPES[org_id]
    out: list[Automation] = []
    for p_index, pipe in enumerate(pipes):
        kinds = _KINDS if p_index < 2 else _KINDS[:3]
        for k_index, (name, action, event, tags) in enumerate(kinds):
            target = pipes[(p_index + 1) % len(pipes)] if action == "move_card" else pipe
            number = len(out) + 1
            out.append(
                Automation(
                    id=f"auto-{org_id}-{number:02d}",
                    name=name.format(pipe.name.lower()),
                    action=action,
                    event=event,
                    action_pipe=target.id,
                    event_pipe=pipe.id,
                    jobs_per_day=_VOLUME[org_id] / (1 + p_index + k_index) * rng.uniform(0.5, 1.5),
                    tags=tags,
                    created_by=_CREATORS[org_id][number % len(_CREATORS[org_id])],
                    status="inactive" if number % 7 == 0 else "active",
                    deleted_at=0.6 if (org_id, number) == (ACME, 3) else None,
                )
            )
    return tuple(out)


AUTOMATIONS: dict[str, tuple[Automation, ...]] = {org: _cast(org) for org in PIPES}


def catalog_document(org_id: str, today: date) -> dict[str, Any]:
    """The ``pipes`` and ``automations`` of an organization's tenancy document."""
    if org_id not in PIPES:
        return {}
    automations = []
    for index, auto in enumerate(AUTOMATIONS[org_id]):
        created = today - timedelta(days=130 - 3 * index)
        entry: dict[str, Any] = {
            "id": auto.id,
            "name": auto.name,
            "action": auto.action,
            "event": auto.event,
            "status": auto.status,
            "actionPipe": auto.action_pipe,
            "eventPipe": auto.event_pipe,
            "tags": list(auto.tags),
            "createdAt": f"{created.isoformat()}T09:00:00Z",
        }
        if auto.created_by is not None:
            entry["createdBy"] = auto.created_by
        if auto.deleted_at is not None:
            entry["deleted"] = True
        automations.append(entry)
    pipes = [{"id": p.id, "name": p.name, "icon": p.icon, "color": p.color} for p in PIPES[org_id]]
    return {"pipes": pipes, "automations": automations}


Moment = Callable[[date, int, random.Random], datetime | None]


def jobs_of_day(
    org_id: str, org_uuid: str, day: date, progress: float, growth: float, seed: int, moment: Moment
) -> list[dict[str, Any]]:
    """The ``automation.job`` events of one organization's day: a few per automation."""
    rng = random.Random(f"{seed}:{org_id}:{day.isoformat()}:jobs")
    week = (1.0, 1.05, 1.0, 0.95, 0.85, 0.2, 0.12)[day.weekday()]
    events = []
    for auto in AUTOMATIONS.get(org_id, ()):
        if auto.status != "active" or (auto.deleted_at is not None and progress > auto.deleted_at):
            continue
        jobs = max(0, round(rng.gauss(auto.jobs_per_day * week * growth, 1.5)))
        parts = min(jobs, 4)
        for part in range(parts):
            at = moment(day, rng.randrange(7, 19), rng)
            if at is None:
                continue
            count = jobs // parts + (1 if part < jobs % parts else 0)
            events.append(
                {
                    "id": f"job-{auto.id}-{day:%Y%m%d}-{part}",
                    "source": "automations",
                    "type": "automation.job",
                    "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "organization": org_uuid,
                    "data": {"automationId": auto.id, "automationName": auto.name, "jobs": count},
                }
            )
    return events
