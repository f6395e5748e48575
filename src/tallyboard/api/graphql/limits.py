"""Static limits on GraphQL documents, measured in one linear pass before validation.

Depth, the expanded field count and the organization-UUID budget are measured with
fragments expanded: a fragment spread counts as often as it is spread. Expanding by
walking every spread would cost exponential time (``fragment Fi { ...F(i-1)
...F(i-1) }``), so each definition's body is walked exactly once into a
:class:`_Summary`, and a spread adds its fragment's summary -- fragments are summarized
in dependency order, sums saturate at :data:`SATURATED`. Cycles and unknown fragments
(validation errors, but limits run before validation) count as empty.

The UUID budget is partly dynamic -- a variable's list length is known only per
request -- so each operation keeps its literal count and, per variable, how many times
it is used and what its default value would count. Each ``organizationUuid(s)`` value
contributes at most ``max_org_uuids``: a single field's oversized list is that field's
own ``INVALID_INPUT`` (spec §4), while several fields (aliases, fragments, different
queries) summing past the budget make the whole document ``QUERY_TOO_COMPLEX`` (§7).

"Summed over every field" includes organization UUIDs inside input objects
(``createUsageReportExport(input: {organizationUuids: ...})``): a literal object is
searched for ``organizationUuid(s)`` fields at any depth, and a variable used anywhere
else than such a field (``input: $input``) is *nested*: its value is searched the same
way per request. Both searches visit each node once, so the pass stays linear.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

__all__ = ["SATURATED", "DocumentShape", "OperationPlan", "measure"]

_UUID_ARGUMENTS = frozenset({"organizationUuid", "organizationUuids"})

SATURATED = 2**53
"""Every count stops growing here: far past any limit, and never a huge integer."""


def _add(a: int, b: int) -> int:
    return min(a + b, SATURATED)


@dataclass(frozen=True, slots=True)
class OperationPlan:
    name: str | None
    root_keys: frozenset[str]
    """Response keys at the root (for "every root field denied")."""
    uuid_literals: int
    uuid_variables: tuple[tuple[str, int], ...]
    """Variables whose values count toward the UUID budget, with their number of uses."""
    uuid_defaults: Mapping[str, int] = field(default_factory=dict)
    """What each variable's default value counts, for a request that omits it."""
    nested_variables: tuple[tuple[str, int], ...] = ()
    """Variables used elsewhere (an input object, ``input: $input``), with their number of
    uses: the ``organizationUuid(s)`` fields inside their values count."""
    nested_defaults: Mapping[str, int] = field(default_factory=dict)
    """What each nested variable's default value counts."""

    def uuid_count(self, variables: Mapping[str, Any], per_field: int) -> int:
        total = self.uuid_literals
        for name, uses in self.uuid_variables:
            if name not in variables:
                count = self.uuid_defaults.get(name, 0)
            else:
                count = _count_uuids(variables[name], per_field)
            total = _add(total, uses * count)
        for name, uses in self.nested_variables:
            if name not in variables:
                count = self.nested_defaults.get(name, 0)
            else:
                count = _count_nested(variables[name], per_field)
            total = _add(total, uses * count)
        return total


def _count_uuids(value: Any, per_field: int) -> int:
    """UUIDs a request's value of an ``organizationUuid(s)`` position counts."""
    if isinstance(value, list):
        return min(len(value), per_field)
    return 0 if value is None else 1


def _count_nested(value: Any, per_field: int) -> int:
    """UUIDs in a request's variable value used as (part of) an input object: every
    ``organizationUuid(s)`` key at any depth (iterative: each JSON node visited once)."""
    count = 0
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            for key, item in current.items():
                if key in _UUID_ARGUMENTS:
                    count = _add(count, _count_uuids(item, per_field))
                else:
                    stack.append(item)
        elif isinstance(current, list):
            stack.extend(current)
    return count


@dataclass(frozen=True, slots=True)
class DocumentShape:
    """What the limits need to know about a document, every fragment expanded."""

    depth: int
    """Deepest field nesting of any operation."""
    aliases: int
    """Aliases written in the document (as written, not expanded)."""
    fields: int
    """Field selections of every operation, every spread expanded (saturating)."""
    operations: dict[str | None, OperationPlan]
    """Per operation name (None for an anonymous one)."""


@dataclass(slots=True)
class _Summary:
    """One definition's body, its spreads included: what it adds wherever it is spread."""

    fields: int = 0
    depth: int = 0
    top_keys: set[str] = field(default_factory=set)
    """Response keys at the body's top level: the root keys when spread at the root."""
    literals: int = 0
    variables: dict[str, int] = field(default_factory=dict)
    nested: dict[str, int] = field(default_factory=dict)
    """Variables used outside an ``organizationUuid(s)`` position, with their uses."""

    def absorb(self, other: _Summary, depth: int, top: bool) -> None:
        """Add ``other`` spread at ``depth`` (its top level is ours when ``top``)."""
        self.fields = _add(self.fields, other.fields)
        if other.depth:
            self.depth = max(self.depth, depth + other.depth)
        if top:
            self.top_keys |= other.top_keys
        self.literals = _add(self.literals, other.literals)
        for name, uses in other.variables.items():
            self.variables[name] = _add(self.variables.get(name, 0), uses)
        for name, uses in other.nested.items():
            self.nested[name] = _add(self.nested.get(name, 0), uses)

    def use(self, direct: list[str], nested: list[str]) -> None:
        """Count one use of each variable an argument names."""
        for name in direct:
            self.variables[name] = _add(self.variables.get(name, 0), 1)
        for name in nested:
            self.nested[name] = _add(self.nested.get(name, 0), 1)


def _count_value(value: ValueNode, per_field: int, variables: list[str]) -> int:
    """UUIDs a literal argument value (or default value) counts; variables it uses."""
    if isinstance(value, VariableNode):
        variables.append(value.name.value)
        return 0
    if isinstance(value, NullValueNode):
        return 0
    if isinstance(value, ListValueNode):
        count = 0
        for item in value.values:
            if isinstance(item, VariableNode):
                variables.append(item.name.value)
            elif not isinstance(item, NullValueNode):
                count += 1
        return min(count, per_field)
    return 1


def _count_argument(
    name: str, value: ValueNode, per_field: int, direct: list[str], nested: list[str]
) -> int:
    """UUIDs an argument's literal value counts -- the argument itself when it is an
    ``organizationUuid(s)``, else such fields inside its input objects at any depth --
    and the variables it uses (``direct`` at those positions, ``nested`` elsewhere).
    Iterative: each value node is visited once."""
    if name in _UUID_ARGUMENTS:
        return _count_value(value, per_field, direct)
    count = 0
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, VariableNode):
            nested.append(current.name.value)
        elif isinstance(current, ListValueNode):
            stack.extend(current.values)
        elif isinstance(current, ObjectValueNode):
            for item in current.fields:
                if item.name.value in _UUID_ARGUMENTS:
                    count = _add(count, _count_value(item.value, per_field, direct))
                else:
                    stack.append(item.value)
    return count


def _selections(
    selection_set: SelectionSetNode,
) -> Iterator[tuple[FieldNode | FragmentSpreadNode, int, bool]]:
    """Every field and spread in a body, not following spreads: (node, depth, top).

    Iterative, so a deeply nested document cannot exhaust the interpreter's stack."""
    stack: list[tuple[SelectionSetNode, int, bool]] = [(selection_set, 0, True)]
    while stack:
        current, depth, top = stack.pop()
        for selection in current.selections:
            if isinstance(selection, InlineFragmentNode):
                stack.append((selection.selection_set, depth, top))
            elif isinstance(selection, (FieldNode, FragmentSpreadNode)):
                yield selection, depth, top
                if isinstance(selection, FieldNode) and selection.selection_set is not None:
                    stack.append((selection.selection_set, depth + 1, False))


def _walk_body(
    selection_set: SelectionSetNode, summaries: Mapping[str, _Summary], per_field: int
) -> tuple[_Summary, int]:
    """One definition's summary (fragments from ``summaries``) and its own aliases."""
    summary = _Summary()
    aliases = 0
    for node, depth, top in _selections(selection_set):
        if isinstance(node, FragmentSpreadNode):
            spread = summaries.get(node.name.value)
            if spread is not None:
                summary.absorb(spread, depth, top)
            continue
        summary.fields = _add(summary.fields, 1)
        summary.depth = max(summary.depth, depth + 1)
        if node.alias is not None:
            aliases += 1
        if top:
            summary.top_keys.add(node.alias.value if node.alias else node.name.value)
        for argument in node.arguments or ():
            direct: list[str] = []
            nested: list[str] = []
            count = _count_argument(argument.name.value, argument.value, per_field, direct, nested)
            summary.literals = _add(summary.literals, count)
            summary.use(direct, nested)
    return summary, aliases


def _spreads(selection_set: SelectionSetNode) -> list[str]:
    return [
        n.name.value for n, _, _ in _selections(selection_set) if isinstance(n, FragmentSpreadNode)
    ]


def _dependency_order(fragments: Mapping[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after every fragment it spreads (an iterative depth-first
    post-order; a spread closing a cycle is ignored, as validation refuses it)."""
    order: list[str] = []
    state: dict[str, bool] = {}  # False: on the current path; True: done
    for start in fragments:
        if start in state:
            continue
        state[start] = False
        stack = [(start, iter(_spreads(fragments[start].selection_set)))]
        while stack:
            name, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                state[name] = True
                order.append(name)
            elif child in fragments and child not in state:
                state[child] = False
                stack.append((child, iter(_spreads(fragments[child].selection_set))))
    return order


def _plan(operation: OperationDefinitionNode, summary: _Summary, per_field: int) -> OperationPlan:
    defaults: dict[str, int] = {}
    nested_defaults: dict[str, int] = {}
    for definition in operation.variable_definitions or ():
        if definition.default_value is not None:
            # Defaults are constant: a list literal counts as in an argument.
            name = definition.variable.name.value
            if name in summary.variables:
                defaults[name] = _count_value(definition.default_value, per_field, [])
            if name in summary.nested:
                nested_defaults[name] = _count_argument(  # "": searched as an input object
                    "", definition.default_value, per_field, [], []
                )
    return OperationPlan(
        operation.name.value if operation.name else None,
        frozenset(summary.top_keys),
        summary.literals,
        tuple(summary.variables.items()),
        defaults,
        tuple(summary.nested.items()),
        nested_defaults,
    )


def measure(document: DocumentNode, per_field: int) -> DocumentShape:
    """The document's :class:`DocumentShape`, walking each definition's body once."""
    fragments: dict[str, FragmentDefinitionNode] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            fragments.setdefault(definition.name.value, definition)
    summaries: dict[str, _Summary] = {}
    aliases = 0
    for name in _dependency_order(fragments):
        summaries[name], own = _walk_body(fragments[name].selection_set, summaries, per_field)
        aliases += own
    depth = fields = 0
    operations: dict[str | None, OperationPlan] = {}
    for definition in document.definitions:
        if isinstance(definition, FragmentDefinitionNode):
            if fragments[definition.name.value] is not definition:  # a duplicate name
                aliases += _walk_body(definition.selection_set, {}, per_field)[1]
            continue
        if not isinstance(definition, OperationDefinitionNode):
            continue
        summary, own = _walk_body(definition.selection_set, summaries, per_field)
        aliases += own
        depth = max(depth, summary.depth)
        fields = _add(fields, summary.fields)
        plan = _plan(definition, summary, per_field)
        operations[plan.name] = plan
    return DocumentShape(depth, aliases, fields, operations)
