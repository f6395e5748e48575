"""GraphQL requests for the fuzz: schema-driven documents, then made hostile.

hypothesis-graphql builds valid documents from the served SDL (``schema.graphql``) with
organization ids and strings drawn from the seeded tenancy as well as from hostile text,
and documents that break the schema in one place (``Mode.NEGATIVE``). On top of those:
arguments lifted into variables given values of the wrong shape or as defaults, long and
odd operation names, several operations, aliases, the UUID budget, fragment fan-out,
deep introspection, oversized lists, deeply nested variables, corrupted text, and bodies
that are not GraphQL requests at all. Each request carries its ``kind`` (what the report
groups failures by) and what is known of its expected outcome.
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
from hypothesis_graphql import Mode, nodes, queries

from tests.support.fuzz.checks import Sent, Suite
from tests.support.fuzz.server import World
from tests.support.fuzz.values import encode, hostile_json, hostile_text, nested_json

__all__ = ["SCHEMA", "Auth", "auths", "graphql_suites"]

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


@dataclass(frozen=True)
class Auth:
    label: str
    header: str | None
    ok: bool
    """A credential the GraphQL endpoint must accept."""


def _scalars(world: World) -> dict[str, st.SearchStrategy[graphql.ValueNode]]:
    known_ids = [*world.org_uuids, *world.org_ids, world.org_uuids[0].upper()]
    # Lone surrogates cannot be written in a GraphQL string: the variables carry them.
    text = hostile_text(surrogates=False)
    ids = st.one_of(st.sampled_from(known_ids), st.uuids().map(str), text)
    words = ["ENABLED", "disabled", "name", "usage", "status", "asc", "DESC", "Sync", "crm"]
    cursors = [world.cursor, world.cursor[:-3] + "abc", world.cursor.split(".")[0]]
    strings = st.one_of(st.sampled_from(words + cursors), text)
    return {"ID": ids.map(nodes.String), "String": strings.map(nodes.String)}


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


def _selection(query: str) -> str:
    """The root selection set of a generated one-operation document, as text."""
    document = graphql.parse(query)
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    return graphql.print_ast(operation.selection_set)


@st.composite
def _lifted(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
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
def _named(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    name = draw(_NAMES)
    chosen = draw(st.one_of(st.just(name), st.just(ABSENT), hostile_text(), hostile_json()))
    return Case("operation name", f"query {name} {_selection(draw(positive))}", None, chosen)


@st.composite
def _long_name(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    """A long operation name that executes and is metered (issue 11, item 2: a name the
    database cannot index must not poison the metering flush of every tenant)."""
    size = draw(st.sampled_from([300, 1_000, 2_800, 4_000, 12_000]))
    # Random letters: a repeated one compresses, and PostgreSQL would index it fine.
    letters = string.ascii_letters + string.digits + "_"
    name = "Op" + "".join(random.Random(draw(st.integers(0, 2**32))).choices(letters, k=size))
    chosen = draw(st.sampled_from([name, ABSENT]))
    return Case("long operation name", f"query {name} {_selection(draw(positive))}", None, chosen)


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
def _control_characters(draw: Draw, world: World) -> Case:
    """Identifiers and strings with NUL and other control characters (issue 11, item 5)."""
    known = draw(st.sampled_from([*world.org_ids, *world.org_uuids, world.cursor, "Sync"]))
    char = draw(st.sampled_from(_CONTROL))
    value = draw(st.sampled_from([known + char, char + known, known[:3] + char + known[3:]]))
    variables = {"v": value, "o": world.org_uuids[0]}
    return Case("control characters", draw(st.sampled_from(_CONTROL_DOCUMENTS)), variables)


@st.composite
def _several(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    first, second = draw(_NAMES), draw(_NAMES)
    second_head = draw(st.sampled_from([f"query {second}", "query", ""]))
    text = f"query {first} {_selection(draw(positive))} {second_head} {_selection(draw(positive))}"
    chosen = draw(st.sampled_from([first, second, ABSENT, None, "", "Nope"]))
    return Case("several operations", text, operation_name=chosen)


@st.composite
def _aliased(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
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
def _uuid_budget(draw: Draw, world: World, how: str) -> Case:
    """1 to 15 aliased combined fields carrying 1-25 UUIDs each (1 to 60 in all), as
    literals, as variables or as variable defaults (issue 11, item 3): more than 25 in
    all must be QUERY_TOO_COMPLEX, 25 or fewer must execute."""
    field = draw(st.sampled_from(["apiUsageStatsCombined", "aiCreditUsageStatsCombined"]))
    pool = st.one_of(st.sampled_from(world.org_uuids), st.uuids().map(str))
    total = draw(st.integers(min_value=1, max_value=60))
    sizes = _split(total, draw(st.integers(min_value=1, max_value=min(total, 15))))
    lists = [draw(st.lists(pool, min_size=n, max_size=n)) for n in sizes[:15]]
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
def _fanout(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
    """Fragments that each spread the previous one twice (issue 11, item 1)."""
    # 21 stays within seconds even unbounded; 22 takes 6 s of CPU on an unfixed walker.
    depth = draw(st.one_of(st.integers(min_value=0, max_value=21), st.just(21)))
    leaf = draw(st.one_of(st.just("__typename"), positive.map(lambda q: _selection(q)[1:-1])))
    fragments = [f"fragment F0 on Query {{ {leaf} }}"]
    fragments += [
        f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, depth + 1)
    ]
    return Case("fragment fan-out", f"query {{ ...F{depth} }} " + " ".join(fragments))


def _introspection() -> st.SearchStrategy[Case]:
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
def _oversized(draw: Draw, world: World) -> Case:
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
def _deep_variables(draw: Draw) -> Case:
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
    raw = b'{"query": ' + encode(query) + b', "variables": {"x": ' + value.encode() + b"}}"
    return Case("deep variables", query, raw=raw)


_JUNK = ["{", "}", "(", ")", "$", "...", "@skip(if: true)", "@nope", "#", '"', '"""', "\\u0000"]


@st.composite
def _corrupted(draw: Draw, positive: st.SearchStrategy[str]) -> Case:
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


_RAW = [
    b"",
    b"{",
    b"null",
    b"[]",
    b"{}",
    b'"x"',
    b"123",
    b'{"query": null}',
    b'{"query": ""}',
    b'{"query": "   "}',
    b'{"query": 5}',
    b'{"query": ["{ __typename }"]}',
    b'{"query": {"a": 1}}',
    b'{"query": "{ __typename }", "variables": []}',
    b'{"query": "{ __typename }", "variables": "x"}',
    b'{"query": "{ __typename }", "variables": 7}',
    b'{"query": "{ __typename }", "operationName": 5}',
    b'{"query": "{ __typename }", "operationName": ["a"]}',
    b'{"query": "{ __typename \xff }"}',
    b'{"query": 1, "query": "{ __typename }"}',
    b'{"query": "{ __typename }", "extensions": {"persistedQuery": {"version": 1}}}',
    b'\xef\xbb\xbf{"query": "{ __typename }"}',
    b'{"query": "{ __typename }"} trailing',
    b'{"query": "{ __typename }", "variables": {"a": 1e999}}',
    b'{"query": "{ __typename }", "variables": {"a": NaN}}',
    b'{"query": "{ __typename }", "variables": {"a": "\\ud800"}}',
]


def _oversized_body(size: int) -> bytes:
    """A body just over the 1 MiB limit (built on demand: hypothesis prints strategies)."""
    return b'{"query": "' + b"#" * size + b'\\n{ __typename }"}'


def _raw_bodies(positive: st.SearchStrategy[str]) -> st.SearchStrategy[Case]:
    batch = st.lists(positive, min_size=1, max_size=3).map(
        lambda qs: encode([{"query": q} for q in qs])
    )
    deep = st.integers(min_value=1, max_value=5_000).map(lambda n: nested_json(n).encode())
    oversized = st.integers(min_value=MAX_BODY - 20, max_value=MAX_BODY + 20).map(_oversized_body)
    raw = st.one_of(st.sampled_from(_RAW), st.binary(max_size=300), batch, deep, oversized)
    return raw.map(lambda body: Case("raw body", None, raw=body))


def auths(world: World, *, good_only: bool = False) -> st.SearchStrategy[Auth]:
    """Bearer credentials the endpoint accepts (and, unless ``good_only``, a quarter of
    credentials it must refuse)."""
    tokens = world.tokens
    good = st.sampled_from(["super", "super", "super", "viewer", "member", "personal"]).map(
        lambda label: Auth(label, f"Bearer {tokens[label]}", ok=True)
    )
    if good_only:
        return good
    fixed = [
        Auth("no header", None, ok=False),
        Auth("empty header", "", ok=False),
        Auth("scheme only", "Bearer", ok=False),
        Auth("basic", "Basic Zm9vOmJhcg==", ok=False),
        Auth("unknown token", "Bearer tb_sat_" + "A" * 43, ok=False),
        Auth("truncated token", f"Bearer {tokens['super'][:-1]}", ok=False),
        Auth("ingest key", f"Bearer {world.ingest_keys['all']}", ok=False),
        Auth("client secret", f"Bearer {world.client[1]}", ok=False),
    ]
    printable = st.text(alphabet=string.printable.strip() + " ", max_size=80)
    bad = st.one_of(
        st.sampled_from(fixed), printable.map(lambda t: Auth("random", t.strip() or "x", ok=False))
    )
    return st.one_of(good, good, good, bad)


def graphql_suites(world: World) -> list[Suite]:
    """Every kind of GraphQL request with its number of examples (about 380 in all)."""
    scalars = _scalars(world)
    positive = queries(SCHEMA, custom_scalars=scalars)
    negative = queries(SCHEMA, custom_scalars=scalars, mode=Mode.NEGATIVE)
    # Any credential (a quarter of them bad) for the broad families; a good one for those
    # aimed at a known hazard, which only shows once the credential is accepted.
    anyone, good = auths(world), auths(world, good_only=True)
    cases: list[tuple[int, st.SearchStrategy[Case], st.SearchStrategy[Auth]]] = [
        (60, positive.map(lambda q: Case("schema query", q)), anyone),
        (40, negative.map(lambda q: Case("schema query, one violation", q)), anyone),
        (40, _lifted(positive), anyone),
        (25, _named(positive), anyone),
        (15, _several(positive), anyone),
        (15, _aliased(positive), anyone),
        (10, _uuid_budget(world, "literals"), good),
        (10, _uuid_budget(world, "variables"), good),
        (10, _uuid_budget(world, "defaults"), good),
        (10, _long_name(positive), good),
        (20, _control_characters(world), good),
        (12, _fanout(positive), good),
        (15, _introspection(), anyone),
        (15, _oversized(world), anyone),
        (15, _deep_variables(), good),
        (30, _corrupted(positive), anyone),
        (40, _raw_bodies(positive), anyone),
    ]
    content_types = st.sampled_from(
        ["application/json"] * 6 + ["application/json; charset=utf-8", "text/plain", ""]
    )
    return [
        Suite(examples, st.builds(_sent, strategy, auth, content_types))
        for examples, strategy, auth in cases
    ]


def _sent(case: Case, auth: Auth, content_type: str) -> Sent:
    headers = {"Content-Type": content_type} if content_type else {}
    if auth.header is not None:
        headers["Authorization"] = auth.header
    context = {"auth": auth.label, "auth_ok": auth.ok, "uuids": case.uuids}
    return Sent("/graphql", case.kind, case.body(), headers, context=context)
