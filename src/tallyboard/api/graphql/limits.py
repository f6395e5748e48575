"""Static limits on GraphQL documents, checked once per distinct document text.

Depth and aliases are measured on the AST with fragments expanded (a fragment spread
counts as often as it is spread), cycle-safe because limits run before validation.
The organization-UUID budget is partly dynamic -- a variable's list length is known
only per request -- so this module precomputes, per operation, the literal count and
the variables to add at request time.

Each field contributes at most ``max_org_uuids`` to the budget: a single field's
oversized list is that field's own ``INVALID_INPUT`` (spec §4), while several fields
(aliases, fragments, different queries) summing past the budget make the whole
document ``QUERY_TOO_COMPLEX`` (spec §7).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    ListValueNode,
    NullValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
)

__all__ = ["OperationPlan", "count_aliases", "max_depth", "plan_operations"]

_UUID_ARGUMENTS = frozenset({"organizationUuid", "organizationUuids"})


@dataclass(frozen=True, slots=True)
class OperationPlan:
    name: str | None
    root_keys: frozenset[str]
    """Response keys at the root (for "every root field denied")."""
    uuid_literals: int
    uuid_variables: tuple[str, ...]
    """Variables whose values count toward the UUID budget, once per field use."""

    def uuid_count(self, variables: Mapping[str, Any], per_field: int) -> int:
        total = self.uuid_literals
        for name in self.uuid_variables:
            value = variables.get(name)
            if isinstance(value, list):
                total += min(len(value), per_field)
            elif value is not None:
                total += 1
        return total


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


def count_aliases(document: DocumentNode) -> int:
    """Aliases written anywhere in the document."""
    count = 0
    stack: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, (OperationDefinitionNode, FragmentDefinitionNode))
    ]
    while stack:
        selection_set = stack.pop()
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.alias is not None:
                count += 1
            child = getattr(selection, "selection_set", None)
            if child is not None:
                stack.append(child)
    return count


def max_depth(document: DocumentNode) -> int:
    """Deepest field nesting of any operation, fragments expanded."""
    fragments = _fragments(document)
    memo: dict[str, int] = {}

    def depth(selection_set: SelectionSetNode | None, visiting: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + depth(selection.selection_set, visiting))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set, visiting))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visiting or name not in fragments:
                    continue  # cycles and unknown fragments are validation errors
                if name not in memo:
                    memo[name] = depth(fragments[name].selection_set, visiting | {name})
                deepest = max(deepest, memo[name])
        return deepest

    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return max((depth(op.selection_set, frozenset()) for op in operations), default=0)


def _count_value(value: ValueNode, per_field: int, variables: list[str]) -> int:
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


class _OperationWalker:
    """Collects root keys and UUID arguments of one operation, fragments expanded."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], per_field: int) -> None:
        self.fragments = fragments
        self.per_field = per_field
        self.literals = 0
        self.variables: list[str] = []
        self.root_keys: set[str] = set()

    def walk(self, selection_set: SelectionSetNode, root: bool, visiting: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if root:
                    key = selection.alias.value if selection.alias else selection.name.value
                    self.root_keys.add(key)
                for argument in selection.arguments or ():
                    if argument.name.value in _UUID_ARGUMENTS:
                        self.literals += _count_value(
                            argument.value, self.per_field, self.variables
                        )
                if selection.selection_set is not None:
                    self.walk(selection.selection_set, False, visiting)
            elif isinstance(selection, InlineFragmentNode):
                self.walk(selection.selection_set, root, visiting)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in self.fragments and name not in visiting:
                    self.walk(self.fragments[name].selection_set, root, visiting | {name})


def plan_operations(document: DocumentNode, per_field: int) -> dict[str | None, OperationPlan]:
    """An :class:`OperationPlan` per operation (key None for an anonymous one)."""
    fragments = _fragments(document)
    plans: dict[str | None, OperationPlan] = {}
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        walker = _OperationWalker(fragments, per_field)
        walker.walk(definition.selection_set, True, frozenset())
        name = definition.name.value if definition.name else None
        plans[name] = OperationPlan(
            name, frozenset(walker.root_keys), walker.literals, tuple(walker.variables)
        )
    return plans
