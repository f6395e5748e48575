"""What ingested events say about the catalog: flow, project and agent names.

Events arrive late, out of order and replayed, so a name is a *fact at a time*: the
catalog keeps, per entity, the highest-ranking fact it has seen, ranked by the event
time (``name_at``), then by the values themselves (nulls as ""). The result is a
function of the set of facts, never of arrival order: an older event cannot overwrite
a newer name, and two facts with the same time settle the same way every time. Admin
apply writes its facts at the time it applied them.

Facts that name nothing (a flow without ``flowName``, an agent without ``agentName``)
only make the entity known: they rank at time 0, below every named fact, so a flow
seen only in unnamed events is listed under its id until a name arrives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from tallyboard.domain.events import ApiCall, CreditUse, Event, TaskRun
from tallyboard.domain.usage import AiResource

__all__ = ["AgentFact", "CatalogFacts", "FlowFact", "ProjectFact", "catalog_facts"]

FlowFact = tuple[int, str, str | None]
"""(name_at, name, project id)."""

ProjectFact = tuple[int, str, str | None, str | None]
"""(name_at, name, icon, color)."""

AgentFact = tuple[int, str | None]
"""(name_at, name)."""

CatalogKey = tuple[int, str]
"""(organization pk, flow / project / agent id)."""


Fact = TypeVar("Fact", FlowFact, ProjectFact, AgentFact)


def _rank(fact: tuple[object, ...]) -> tuple[object, ...]:
    return tuple("" if value is None else value for value in fact)


def _keep_highest(facts: dict[CatalogKey, Fact], key: CatalogKey, fact: Fact) -> None:
    current = facts.get(key)
    if current is None:
        facts[key] = fact
    elif fact[0] != current[0]:  # different times: the newer wins (the usual case)
        if fact[0] > current[0]:
            facts[key] = fact
    elif _rank(fact) > _rank(current):
        facts[key] = fact


@dataclass(slots=True)
class CatalogFacts:
    flows: dict[CatalogKey, FlowFact] = field(default_factory=dict)
    projects: dict[CatalogKey, ProjectFact] = field(default_factory=dict)
    agents: dict[CatalogKey, AgentFact] = field(default_factory=dict)

    def is_empty(self) -> bool:
        return not (self.flows or self.projects or self.agents)


def catalog_facts(events: Iterable[Event]) -> CatalogFacts:
    """The highest-ranking fact per entity among ``events`` (newly stored ones)."""
    facts = CatalogFacts()
    for event in events:
        usage = event.usage
        if isinstance(usage, ApiCall):
            continue
        if isinstance(usage, TaskRun):
            project = usage.project
            project_id = project.id if project is not None else None
            if usage.flow_name is not None:
                fact: FlowFact = (event.time_ms, usage.flow_name, project_id)
            else:
                fact = (0, usage.flow_id, project_id)
            _keep_highest(facts.flows, (event.org_pk, usage.flow_id), fact)
            if project is not None:
                project_fact = (event.time_ms, project.name, project.icon, project.color)
                _keep_highest(facts.projects, (event.org_pk, project.id), project_fact)
        elif isinstance(usage, CreditUse):
            if usage.resource is not AiResource.AI_AUTOMATION or usage.agent_id is None:
                continue
            name = usage.agent_name
            agent_fact: AgentFact = (event.time_ms, name) if name is not None else (0, None)
            _keep_highest(facts.agents, (event.org_pk, usage.agent_id), agent_fact)
    return facts
