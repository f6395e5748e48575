"""A precompiled execution plan for plain documents (decision 0009).

Our resolvers do all their work at the root and return plain data (dicts, lists,
scalars) shaped like the schema. For such results graphql-core's general executor --
field collection, a resolve-info object, a path and a completion dispatch for every
one of the hundreds of leaves of a combined answer -- costs several times what the
statistics themselves cost once they are cached. A :class:`Projection` is compiled
once per cached document and does the same work directly: the root resolvers are
called exactly as graphql-core calls them (same coerced arguments, same resolve info,
resolver errors located the same way), and their results are projected through
closures built from the selection sets.

Only documents made of plain fields qualify (no fragments, directives, abstract types,
introspection, duplicate response keys or nested resolvers); anything else, and any
value the projection does not handle exactly like graphql-core (a null in a non-null
position, an unusual scalar, a non-dict object), makes the request fall back to
``execute_sync``, so the answer is always graphql-core's answer.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeGuard, cast

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    default_field_resolver,
    located_error,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.pyutils import Path, Undefined

from tallyboard.api.graphql.schema import SAFE_INT

__all__ = ["Fallback", "Projection", "compile_projection"]

_Complete = Callable[[Any], Any]
_INT_MIN, _INT_MAX = -SAFE_INT, SAFE_INT  # as the served Int scalar (schema.py)


class Fallback(Exception):
    """The projection cannot reproduce graphql-core exactly here: execute normally."""


class _Unsupported(Exception):
    """Raised while compiling: the document needs the general executor."""


def _never_awaitable(_value: Any) -> TypeGuard[Awaitable[Any]]:
    return False


def _leaf(scalar: GraphQLScalarType | Any) -> _Complete:
    coerce = scalar.coerce_output_value
    name = getattr(scalar, "name", "")

    def slow(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Fallback
        return coerced

    # The built-in scalars return these values unchanged; skip their checks.
    if name in ("String", "ID"):
        return lambda value: value if type(value) is str else slow(value)
    if name == "Boolean":
        return lambda value: value if type(value) is bool else slow(value)
    if name == "Int":
        return lambda value: (
            value if type(value) is int and _INT_MIN <= value <= _INT_MAX else slow(value)
        )
    if name == "Float":
        isfinite = math.isfinite
        return lambda value: value if type(value) is float and isfinite(value) else slow(value)
    return slow


def _plain_fields(selection_set: SelectionSetNode) -> list[tuple[str, str, FieldNode]]:
    """(response key, field name, node) of a selection made only of plain fields with
    distinct response keys; anything else needs the general executor."""
    found: list[tuple[str, str, FieldNode]] = []
    seen: set[str] = set()
    for selection in selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise _Unsupported
        key = selection.alias.value if selection.alias else selection.name.value
        if key in seen:
            raise _Unsupported
        seen.add(key)
        found.append((key, selection.name.value, selection))
    return found


def _object(
    schema: GraphQLSchema, object_type: GraphQLObjectType, selection_set: SelectionSetNode
) -> _Complete:
    fields: list[tuple[str, str, _Complete | None]] = []
    for key, name, selection in _plain_fields(selection_set):
        if name == "__typename":
            fields.append((key, name, None))
            continue
        field = object_type.fields.get(name)
        if field is None or field.resolve is not None or selection.arguments:
            raise _Unsupported
        fields.append((key, name, _complete(schema, field.type, selection)))
    typename = object_type.name

    def complete(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise Fallback
        get = value.get
        out: dict[str, Any] = {}
        for key, name, inner in fields:
            if inner is None:
                out[key] = typename
                continue
            item = get(name)
            if callable(item):
                raise Fallback
            out[key] = inner(item)
        return out

    return complete


def _complete(schema: GraphQLSchema, type_: GraphQLOutputType, node: FieldNode) -> _Complete:
    if isinstance(type_, GraphQLNonNull):
        inner = _complete_nullable(schema, type_.of_type, node)

        def non_null(value: Any) -> Any:
            if value is None:
                raise Fallback
            return inner(value)

        return non_null
    nullable = _complete_nullable(schema, type_, node)
    return lambda value: None if value is None else nullable(value)


def _complete_nullable(schema: GraphQLSchema, type_: Any, node: FieldNode) -> _Complete:
    """Completion of a non-null ``value`` of ``type_`` (nullability is the caller's)."""
    if isinstance(type_, GraphQLList):
        item = _complete(schema, type_.of_type, node)

        def complete_list(value: Any) -> list[Any]:
            if not isinstance(value, (list, tuple)):
                raise Fallback
            return [item(v) for v in value]

        return complete_list
    if isinstance(type_, GraphQLObjectType):
        if node.selection_set is None:
            raise _Unsupported
        return _object(schema, type_, node.selection_set)
    if isinstance(type_, GraphQLScalarType) or hasattr(type_, "coerce_output_value"):
        if node.selection_set is not None:
            raise _Unsupported
        return _leaf(type_)
    raise _Unsupported  # interfaces and unions


class _Root:
    __slots__ = ("complete", "field", "key", "last", "name", "node")

    def __init__(self, key: str, name: str, field: Any, node: FieldNode, complete: _Complete):
        self.key = key
        self.name = name
        self.field = field
        self.node = node
        self.complete = complete
        self.last: tuple[Any, Any] = (None, None)
        """The last resolver result and its projection: a resolver that answers with
        the very same object (a memoized answer) is not projected again. Results are
        never mutated once returned, so sharing the projection is safe."""


def _fingerprint(variables: dict[str, Any]) -> bytes | None:
    """The variables as JSON, or None when orjson cannot write them (nested deeper than
    its 254 levels -- graphql-core reports what is wrong with such a value, if it is a
    declared variable's; an undeclared one is ignored like everywhere else)."""
    if not variables:
        return b""
    try:
        return orjson.dumps(variables)
    except orjson.JSONEncodeError:
        return None


class Projection:
    """Executes one operation of one document; see the module docstring."""

    def __init__(
        self, schema: GraphQLSchema, operation: OperationDefinitionNode, roots: list[_Root]
    ) -> None:
        self._schema = schema
        self._operation = operation
        self._roots = roots
        self._query_type = schema.query_type
        self._last_variables: tuple[bytes | None, Any] = (None, None)

    def execute(self, context: Any, variables: dict[str, Any]) -> ExecutionResult | None:
        """The result, or None when the variables do not coerce (let graphql-core say
        why). Raises :class:`Fallback` when a value needs the general executor."""
        coerced = self._coerce(variables)
        if coerced is None:
            return None
        data: dict[str, Any] = {}
        errors: list[GraphQLError] = []
        for root in self._roots:
            if root.field is None:  # __typename
                data[root.key] = "Query"
                continue
            path = Path(None, root.key, "Query")
            try:
                result = self._resolve(root, path, coerced, context)
            except Exception as exc:
                errors.append(located_error(exc, [root.node], path.as_list()))
                data[root.key] = None
                continue
            data[root.key] = _project(root, result)
        return ExecutionResult(data, errors or None)

    def _coerce(self, variables: dict[str, Any]) -> VariableValues | None:
        """The coerced variables, or None when they do not coerce. Clients resend the
        same variables, and coercion is pure: the last ones are reused -- compared as
        JSON (1, 1.0 and true are equal in Python, not in GraphQL)."""
        raw = _fingerprint(variables)
        last_raw, last_coerced = self._last_variables
        if raw is not None and raw == last_raw and last_coerced is not None:
            return cast(VariableValues, last_coerced)
        coerced = get_variable_values(
            self._schema,
            self._operation.variable_definitions or (),
            variables,
            hide_suggestions=True,
        )
        if isinstance(coerced, list):
            return None
        if raw is not None:
            self._last_variables = (raw, coerced)
        return coerced

    def _resolve(self, root: _Root, path: Path, coerced: VariableValues, context: Any) -> Any:
        """Call the root resolver exactly as graphql-core does (same arguments, same
        resolve info); a returned exception is raised like graphql-core reports it."""
        field = root.field
        info = GraphQLResolveInfo(
            field_name=root.name,
            field_nodes=[root.node],
            return_type=field.type,
            parent_type=cast(GraphQLObjectType, self._query_type),
            path=path,
            schema=self._schema,
            fragments={},
            root_value=None,
            operation=self._operation,
            variable_values=coerced,
            context=context,
            is_awaitable=_never_awaitable,
            abort_signal=None,
            async_helpers=cast(Any, None),
        )
        args = (
            get_argument_values(field, root.node, coerced, None, True)
            if field.args or root.node.arguments
            else {}
        )
        result = (field.resolve or default_field_resolver)(None, info, **args)
        if isinstance(result, Exception):
            raise result
        return result


def _project(root: _Root, result: Any) -> Any:
    """``result`` completed through the root's selection; the very same object as last
    time (a memoized answer) reuses its projection."""
    last = root.last
    if result is last[0] and result is not None:
        return last[1]
    completed = root.complete(result)
    root.last = (result, completed)
    return completed


def compile_projection(
    schema: GraphQLSchema, operation: OperationDefinitionNode
) -> Projection | None:
    """A projection for ``operation`` of a validated ``document``, or None when the
    operation needs graphql-core's general executor."""
    query_type = schema.query_type
    if operation.operation is not OperationType.QUERY or query_type is None or operation.directives:
        return None
    try:
        roots: list[_Root] = []
        for key, name, selection in _plain_fields(operation.selection_set):
            if name == "__typename":
                roots.append(_Root(key, name, None, selection, lambda v: v))
                continue
            field = query_type.fields.get(name)
            if field is None or isinstance(field.type, GraphQLNonNull):
                raise _Unsupported
            roots.append(
                _Root(key, name, field, selection, _complete(schema, field.type, selection))
            )
    except _Unsupported:
        return None
    return Projection(schema, operation, roots)
