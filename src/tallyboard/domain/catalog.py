"""What ingested events say about the catalog: flow, project, agent and automation names.

Events arrive late, out of order and replayed, so each attribute of a catalog entity is
a *fact at a time*: a flow's name and its project, a project's name, icon and color,
an agent's name. The catalog keeps, per attribute, the highest-ranking fact it has
seen, ranked by the event time (``<attribute>_at``), then by the value itself (null as
""). The result is a function of the set of facts, never of arrival order: an older
event cannot overwrite a newer value, and two facts with the same time settle the same
way every time. Admin apply writes its facts at the time it applied them.

**An absent optional field states nothing.** An event without ``project`` (or with
``"project": null``) does not detach its flow from the project an earlier event or the
tenancy document gave it; one without ``icon`` keeps the project's icon; one without
``flowName`` or ``agentName`` keeps the name. Such an attribute is the fact
``(0, None)``, which ranks below every stated fact. A flow only ever seen unnamed is
still known: its name fact is ``(0, <its id>)``, so it is listed under its id until a
name arrives; an agent or automation keeps a null name (listings show its id) and the
time of its first event (:data:`NamedFact`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from tallyboard.domain.events import ApiCall, CreditUse, Event, JobRun, TaskRun
from tallyboard.domain.usage import AiResource

__all__ = [
    "AGENT_ATTRIBUTES",
    "FLOW_ATTRIBUTES",
    "PROJECT_ATTRIBUTES",
    "AgentFact",
    "CatalogFacts",
    "CatalogKey",
    "FlowFact",
    "NamedFact",
    "ProjectFact",
    "catalog_facts",
]

Stated = tuple[int, str | None]
"""One attribute: (the time it was stated at, its value); (0, None) states nothing."""

FlowFact = tuple[Stated, Stated]
"""(name, project id)."""

ProjectFact = tuple[Stated, Stated, Stated]
"""(name, icon, color)."""

AgentFact = tuple[Stated]
"""(name,): the agent's name as a ranked attribute (see :data:`NamedFact`)."""

FLOW_ATTRIBUTES = ("name", "project_id")
PROJECT_ATTRIBUTES = ("name", "icon", "color")
AGENT_ATTRIBUTES = ("name",)
"""The catalog columns of each fact's attributes, in order (each with its time column)."""

CatalogKey = tuple[int, str]
"""(organization pk, flow / project / agent id)."""

_NOTHING: Stated = (0, None)

Fact = TypeVar("Fact", FlowFact, ProjectFact)


def _newer(old: Stated, new: Stated) -> Stated:
    """The higher-ranking of two statements of one attribute: by time, then value."""
    if new[0] != old[0]:
        return new if new[0] > old[0] else old
    return new if (new[1] or "") > (old[1] or "") else old


def _merge(facts: dict[CatalogKey, Fact], key: CatalogKey, fact: Fact) -> None:
    """Keep, attribute by attribute, the higher-ranking of the stored and the new fact."""
    current = facts.get(key)
    if current is None:
        facts[key] = fact
    elif current != fact:
        facts[key] = tuple(map(_newer, current, fact))  # type: ignore[assignment]


NamedFact = tuple[Stated, int]
"""An agent's or automation's name, and the time of its first event (``createdAt`` of an
entry known only from events: the earliest wins)."""


def _merge_named(facts: dict[CatalogKey, NamedFact], key: CatalogKey, fact: NamedFact) -> None:
    current = facts.get(key)
    if current is None:
        facts[key] = fact
    else:
        facts[key] = (_newer(current[0], fact[0]), min(current[1], fact[1]))


@dataclass(slots=True)
class CatalogFacts:
    flows: dict[CatalogKey, FlowFact] = field(default_factory=dict)
    projects: dict[CatalogKey, ProjectFact] = field(default_factory=dict)
    agents: dict[CatalogKey, NamedFact] = field(default_factory=dict)
    automations: dict[CatalogKey, NamedFact] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.flows or self.projects or self.agents or self.automations)


def catalog_facts(events: Iterable[Event]) -> CatalogFacts:
    """The highest-ranking fact per entity and attribute among ``events`` (newly stored)."""
    facts = CatalogFacts()
    for event in events:
        usage = event.usage
        if isinstance(usage, ApiCall):
            continue
        at = event.time_ms
        if isinstance(usage, TaskRun):
            project = usage.project
            name: Stated = (
                (at, usage.flow_name) if usage.flow_name is not None else (0, usage.flow_id)
            )
            if project is None:
                _merge(facts.flows, (event.org_pk, usage.flow_id), (name, _NOTHING))
                continue
            _merge(facts.flows, (event.org_pk, usage.flow_id), (name, (at, project.id)))
            described: ProjectFact = (
                (at, project.name),
                _NOTHING if project.icon is None else (at, project.icon),
                _NOTHING if project.color is None else (at, project.color),
            )
            _merge(facts.projects, (event.org_pk, project.id), described)
        elif isinstance(usage, JobRun):
            named = _NOTHING if usage.automation_name is None else (at, usage.automation_name)
            _merge_named(facts.automations, (event.org_pk, usage.automation_id), (named, at))
        elif isinstance(usage, CreditUse):
            if usage.resource is not AiResource.AI_AUTOMATION or usage.agent_id is None:
                continue
            agent_name = usage.agent_name
            named = _NOTHING if agent_name is None else (at, agent_name)
            _merge_named(facts.agents, (event.org_pk, usage.agent_id), (named, at))
    return facts
