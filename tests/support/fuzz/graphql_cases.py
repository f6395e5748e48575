"""GraphQL documents for the fuzz: schema-driven, then made hostile.

hypothesis-graphql builds valid documents from the served SDL (``schema.graphql``) with
organization ids and strings drawn from the seeded tenancy as well as from hostile text
(``scalars``). On top of those: arguments lifted into variables given values of the wrong
shape or as defaults, long and odd operation names, control characters in identifiers,
several operations, aliases, the UUID budget, fragment fan-out, deep introspection,
oversized lists, deeply nested variables and corrupted text. Each :class:`Case` carries
its ``kind`` (what the report groups failures by) and what is known of its outcome.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphql
from graphql.utilities import TypeInfo, TypeInfoVisitor
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from tests.support.fuzz.server import World
from tests.support.fuzz.values import encode, hostile_json, hostile_text, nested_json

__all__ = [
    "ABSENT",
    "SCHEMA",
    "Case",
    "aliased",
    "control_characters",
    "corrupted",
    "deep_document",
    "deep_variables",
    "fanout",
    "fanout_document",
    "introspection",
    "lifted",
    "long_name",
    "long_operation_name",
    "named",
    "oversized",
    "scalars",
    "selection",
    "several",
    "uuid_budget",
    "uuid_document",
]

SCHEMA_SDL = (Path(__file__).parents[3] / "schema.graphql").read_text()
SCHEMA = graphql.build_schema(SCHEMA_SDL)
MAX_BODY = 1024 * 1024

ABSENT: Any = object()
"""A body field left out entirely (unlike ``null``)."""

Draw = Callable[[st.SearchStrategy[Any]], Any]


@dataclass(frozen=True)
class Case:
    kind: str
    query: Any
    variables: Any = ABSENT
    operation_name: Any = ABSENT
    uuids: int | None = None
    """Organization UUIDs the document carries, when known exactly."""
    raw: bytes | None = None
    """A body sent as is instead of the JSON request."""

    def body(self) -> bytes:
        if self.raw is not None:
            return self.raw
        payload: dict[str, Any] = {"query": self.query}
        if self.variables is not ABSENT:
            payload["variables"] = self.variables
        if self.operation_name is not ABSENT:
            payload["operationName"] = self.operation_name
        return encode(payload)


def scalars(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    known_ids = [*world.org_uuids, *world.org_ids, world.org_uuids[0].upper()]
    # Lone surrogates cannot be written in a GraphQL string: the variables carry them.
    text = hostile_text(surrogates=False)
    ids = st.one_of(st.sampled_from(known_ids), st.uuids().map(str), text)
    words = ["ENABLED", "disabled", "name", "usage", "status", "asc", "DESC", "Sync", "crm"]
    cursors = [world.cursor, world.cursor[:-3] + "abc", world.cursor.split(".")[0]]
    strings = st.one_of(st.sampled_from(words + cursors), text)
    moments = ["2026-11-01T00:00:00Z", "2026-09-01T00:00:00Z", "2026-11-30T23:59:59Z", "2031"]
    times = st.one_of(st.sampled_from(moments), text)
    return {
        "ID": ids.map(nodes.String),
        "String": strings.map(nodes.String),
        "DateTime": times.map(nodes.String),
    }


class _Lifter(graphql.Visitor):
    """Replaces every argument value by a variable, remembering its type and value."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.found: list[tuple[str, str, graphql.ValueNode]] = []

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        input_type = self.type_info.get_input_type()
        if input_type is None or isinstance(node.value, graphql.VariableNode):
            return None
        name = f"v{len(self.found)}"
        self.found.append((name, str(input_type), node.value))
        variable = graphql.VariableNode(name=graphql.NameNode(value=name))
        return graphql.ArgumentNode(name=node.name, value=variable)


def selection(query: str) -> str:
    """The root selection set of a generated one-operation document, as text."""
    document = graphql.parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    return graphql.print_ast(operation.selection_set)


@st.composite
def lifted(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    type_info = TypeInfo(SCHEMA)
    lifter = _Lifter(type_info)
    document = graphql.visit(graphql.parse(draw(positive)), TypeInfoVisitor(type_info, lifter))
    operation = document.definitions[0]
    how = draw(st.sampled_from(["values", "hostile", "defaults", "nulls", "missing", "extra"]))
    definitions = []
    for name, type_text, literal in lifter.found:
        default = f" = {graphql.print_ast(literal)}" if how == "defaults" else ""
        definitions.append(f"${name}: {type_text}{default}")
    header = f"query({', '.join(definitions)}) " if definitions else "query "
    text = header + graphql.print_ast(operation.selection_set)
    values = {name: graphql.value_from_ast_untyped(v) for name, _, v in lifter.found}
    variables: Any = values
    if how == "hostile":
        variables = {name: draw(hostile_json()) for name in values}
    elif how == "defaults":
        variables = ABSENT
    elif how == "nulls":
        variables = dict.fromkeys(values)
    elif how == "missing":
        variables = {}
    elif how == "extra":
        variables = {
            **values,
            **draw(st.dictionaries(hostile_text(12), hostile_json(), max_size=3)),
        }
    return Case(f"variables: {how}", text, variables)


_NAMES = st.one_of(
    st.from_regex(r"\A[_A-Za-z][_0-9A-Za-z]{0,40}\Z"),
    st.integers(min_value=200, max_value=5_000).map(lambda n: "Op" + "x" * n),
)


@st.composite
def named(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    name = draw(_NAMES)
    chosen = draw(st.one_of(st.just(name), st.just(ABSENT), hostile_text(), hostile_json()))
    return Case("operation name", f"query {name} {selection(draw(positive))}", None, chosen)


@st.composite
def long_name(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    """A long operation name that executes and is metered (issue 11, item 2: a name the
    database cannot index must not poison the metering flush of every tenant)."""
    size = draw(st.sampled_from([300, 1_000, 2_800, 4_000, 12_000]))
    name = long_operation_name(size, draw(st.integers(0, 2**32)))
    chosen = draw(st.sampled_from([name, ABSENT]))
    return Case("long operation name", f"query {name} {selection(draw(positive))}", None, chosen)


def long_operation_name(size: int, seed: int) -> str:
    """``Op`` and ``size`` random letters: a repeated letter would compress, and
    PostgreSQL would index even a very long name of them without complaint."""
    letters = string.ascii_letters + string.digits + "_"
    return "Op" + "".join(random.Random(seed).choices(letters, k=size))


_CONTROL = ["\x00", "\x01", "\t", "\n", "\x1b", "\x7f", "\u202e"]
_CONTROL_DOCUMENTS = [
    "query($v: ID!) { organization(id: $v) { id name } }",
    "query($v: ID!) { apiUsageStats(organizationUuid: $v, period: current_month) { limit } }",
    "query($v: ID!) { apiUsageStatsCombined(organizationUuids: [$v], period: last_month) "
    "{ partial } }",
    "query($v: String, $o: ID!) { integrationsUsageDetails(organizationUuid: $o, "
    "period: current_month, search: $v, status: $v, after: $v, sort: {by: $v, order: $v}) "
    "{ totalFlows } }",
]


@st.composite
def control_characters(draw: Draw, world: World) -> Case:
    """Identifiers and strings with NUL and other control characters (issue 11, item 5)."""
    known = draw(st.sampled_from([*world.org_ids, *world.org_uuids, world.cursor, "Sync"]))
    char = draw(st.sampled_from(_CONTROL))
    value = draw(st.sampled_from([known + char, char + known, known[:3] + char + known[3:]]))
    variables = {"v": value, "o": world.org_uuids[0]}
    return Case("control characters", draw(st.sampled_from(_CONTROL_DOCUMENTS)), variables)


@st.composite
def several(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    first, second = draw(_NAMES), draw(_NAMES)
    second_head = draw(st.sampled_from([f"query {second}", "query", ""]))
    text = f"query {first} {selection(draw(positive))} {second_head} {selection(draw(positive))}"
    chosen = draw(st.sampled_from([first, second, ABSENT, None, "", "Nope"]))
    return Case("several operations", text, operation_name=chosen)


@st.composite
def aliased(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    document = graphql.parse(draw(positive))
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    field = graphql.print_ast(operation.selection_set.selections[0])
    count = draw(st.integers(min_value=1, max_value=40))
    return Case("aliases", "{ " + " ".join(f"a{i}: {field}" for i in range(count)) + " }")


def _split(total: int, parts: int) -> list[int]:
    """``total`` as ``parts`` sizes of 1 to 25 (as even as they come)."""
    parts = max(parts, -(-total // 25))
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


@st.composite
def uuid_budget(draw: Draw, world: World, how: str) -> Case:
    """1 to 15 aliased combined fields carrying 1-25 UUIDs each (1 to 60 in all), as
    literals, as variables or as variable defaults (issue 11, item 3): more than 25 in
    all must be QUERY_TOO_COMPLEX, 25 or fewer must execute."""
    field = draw(st.sampled_from(["apiUsageStatsCombined", "aiCreditUsageStatsCombined"]))
    pool = st.one_of(st.sampled_from(world.org_uuids), st.uuids().map(str))
    total = draw(st.integers(min_value=1, max_value=60))
    sizes = _split(total, draw(st.integers(min_value=1, max_value=min(total, 15))))
    lists = [draw(st.lists(pool, min_size=n, max_size=n)) for n in sizes[:15]]
    return uuid_document(field, lists, how)


def uuid_document(field: str, lists: list[list[str]], how: str) -> Case:
    """Aliased ``field`` selections, one per list of UUIDs, passed the ``how`` way."""
    selections, definitions, variables = [], [], {}
    for i, uuids in enumerate(lists):
        literal = encode(uuids).decode()
        argument = literal if how == "literals" else f"$u{i}"
        selections.append(f"a{i}: {field}(organizationUuids: {argument}, period: current_month)")
        if how == "defaults":
            definitions.append(f"$u{i}: [ID!]! = {literal}")
        elif how == "variables":
            definitions.append(f"$u{i}: [ID!]!")
            variables[f"u{i}"] = uuids
    header = f"query({', '.join(definitions)})" if definitions else "query"
    text = f"{header} {{ {' '.join(f + ' { partial }' for f in selections)} }}"
    total = sum(len(u) for u in lists)
    return Case(f"UUID budget: {how}", text, variables or ABSENT, uuids=total)


@st.composite
def fanout(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    """Fragments that each spread the previous one twice (issue 11, item 1)."""
    # 21 stays within seconds even unbounded; 22 takes 6 s of CPU on an unfixed walker.
    depth = draw(st.one_of(st.integers(min_value=0, max_value=21), st.just(21)))
    leaf = draw(st.one_of(st.just("__typename"), positive.map(lambda q: selection(q)[1:-1])))
    return fanout_document(depth, leaf)


def fanout_document(depth: int, leaf: str) -> Case:
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, depth + 1)
    ]
    return Case("fragment fan-out", f"query {{ ...F{depth} }} " + " ".join(fragments))


def introspection() -> st.SearchStrategy[Case]:
    deep = st.integers(min_value=0, max_value=40).map(
        lambda n: (
            "{ __schema { types { name fields { name type { "
            + "ofType { " * n
            + "name"
            + " }" * n
            + " } } } } }"
        )
    )
    by_name = hostile_text().map(
        lambda name: (
            "{ __type(name: " + encode(name, ascii_only=True).decode() + ") { name kind } }"
        )
    )
    return st.one_of(deep, by_name).map(lambda q: Case("introspection", q))


@st.composite
def oversized(draw: Draw, world: World) -> Case:
    pool = st.one_of(st.sampled_from(world.org_uuids), st.uuids().map(str), hostile_text())
    uuids = draw(st.lists(pool, max_size=3_000))
    field = draw(st.sampled_from(["apiUsageStatsCombined", "aiCreditUsageStatsCombined"]))

    def document(argument: str) -> str:
        return f"{{ {field}(organizationUuids: {argument}, period: last_3_months) {{ partial }} }}"

    if draw(st.booleans()):
        return Case("oversized list: variable", "query($u: [ID!]!) " + document("$u"), {"u": uuids})
    text = document(encode(uuids, ascii_only=True).decode())
    return Case("oversized list: literal", text)


@st.composite
def deep_variables(draw: Draw) -> Case:
    """Variables nested hundreds of levels deep (issue 11, item 13: 254 levels)."""
    depth = draw(st.sampled_from([1, 64, 253, 254, 255, 256, 500, 1023, 1024, 1025, 3_000]))
    value = nested_json(depth, as_object=draw(st.booleans()))
    query = draw(
        st.sampled_from(
            [
                "{ __typename }",
                "{ myUsageStatsOrganizations { id } }",
                "query($x: [ID!]) { __typename }",
                "query($x: [ID!]!) { apiUsageStatsCombined(organizationUuids: $x, "
                "period: current_month) { partial } }",
            ]
        )
    )
    return deep_document(query, value)


def deep_document(query: str, variable: str) -> Case:
    """``query`` with the JSON text ``variable`` as ``$x`` (too deep for ``json.dumps``)."""
    raw = b'{"query": ' + encode(query) + b', "variables": {"x": ' + variable.encode() + b"}}"
    return Case("deep variables", query, raw=raw)


_JUNK = ["{", "}", "(", ")", "$", "...", "@skip(if: true)", "@nope", "#", '"', '"""', "\\u0000"]


@st.composite
def corrupted(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    query = draw(positive)
    at = draw(st.integers(min_value=0, max_value=len(query)))
    how = draw(st.sampled_from(["truncate", "insert", "token flood", "comment flood", "literal"]))
    if how == "truncate":
        text = query[:at]
    elif how == "insert":
        junk = draw(st.one_of(st.sampled_from(_JUNK), hostile_text(8)))
        text = query[:at] + junk + query[at:]
    elif how == "token flood":
        text = "{ " + "__typename " * draw(st.integers(min_value=1, max_value=5_000)) + "}"
    elif how == "comment flood":
        text = "#" + "x" * draw(st.integers(min_value=1, max_value=900_000)) + "\n{ __typename }"
    else:
        digits = "9" * draw(st.integers(min_value=10, max_value=100_000))
        text = '{ integrationsUsageDetails(organizationUuid: "x", period: current_month, ' + (
            f"first: {digits}) {{ totalFlows }} }}"
        )
    return Case(f"corrupted text: {how}", text)
