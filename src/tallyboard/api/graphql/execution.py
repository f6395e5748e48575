"""The one way the edge executes a GraphQL operation: :func:`execute`.

Behind it sits the fast path (decision 0018): plain documents run through a
precompiled :mod:`projection <tallyboard.api.graphql.projection>`, which answers exactly
what graphql-core's general executor answers, and fall back to ``execute_sync`` for
anything the projection does not reproduce exactly. Nothing outside this module knows
the projection exists: the document cache compiles an :class:`Executable` once per
document and the endpoint calls :func:`execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLSchema,
    OperationDefinitionNode,
    execute_sync,
)

from tallyboard.api.graphql.projection import Fallback, Projection, compile_projection

__all__ = ["Executable", "compile_executable", "execute"]

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Executable:
    """A validated document, ready to execute any of its operations."""

    schema: GraphQLSchema
    document: DocumentNode
    fast_paths: Mapping[str | None, Projection | None]
    """Per operation name: its precompiled projection, or None (general executor)."""


def compile_executable(schema: GraphQLSchema, document: DocumentNode) -> Executable:
    """Compiled once per cached document (the projection costs about a parse)."""
    fast_paths = {
        (d.name.value if d.name else None): compile_projection(schema, d)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }
    return Executable(schema, document, fast_paths)


def execute(
    executable: Executable,
    operation: str | None,
    variables: dict[str, Any],
    new_context: Callable[[], C],
) -> tuple[ExecutionResult, C]:
    """Run ``operation`` (the name of the operation that executes; None for the one
    anonymous operation) and return graphql-core's result with the context the
    resolvers saw. A run the projection gives up on starts again with a fresh context,
    so warnings a resolver added are not reported twice."""
    context = new_context()
    projection = executable.fast_paths.get(operation)
    if projection is not None:
        try:
            result = projection.execute(context, variables)
        except Fallback:
            context = new_context()
        else:
            if result is not None:
                return result, context
    result = execute_sync(
        executable.schema,
        executable.document,
        context_value=context,
        variable_values=variables,
        operation_name=operation,
        hide_suggestions=True,
    )
    return result, context
