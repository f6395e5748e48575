"""Operation names: the light document scan agrees with a real GraphQL parser."""

from __future__ import annotations

import orjson
import pytest
from graphql import OperationDefinitionNode, parse
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyboard_client.naming import (
    NOT_SPECIFIED,
    graphql_name_from_body,
    graphql_name_from_query_string,
    operation_name_in_document,
    safe_name,
)


@pytest.mark.parametrize(
    ("document", "name"),
    [
        ("query GetCards { cards { id } }", "GetCards"),
        ("mutation CreateCards($n: Int = 3) @live { create(n: $n) { id } }", "CreateCards"),
        ("subscription OnCard { card { id } }", "OnCard"),
        ("{ cards { id } }", None),
        ("query { cards { id } }", None),
        ("query ($a: Int) { a(x: $a) }", None),
        ("query @dir { a }", None),
        ("query A { a } query B { b }", None),
        ("query A { a } { b }", None),
        ("fragment F on Card { id } query Q { ...F }", "Q"),
        ("query Q { ...F } fragment F on Card { id }", "Q"),
        ("fragment F on Card { id }", None),
        ('# query Fake { a }\nquery Real { a(s: "query X { }") }', "Real"),
        ('query Q { a(s: """ } query Y { """) }', "Q"),
        ("query Q { a(input: {x: 1, y: [1, 2]}) { b } }", "Q"),
        ("query Q { a ", None),
        ("query Q } ", None),
        ("type Card { id: ID }", None),
        ("", None),
    ],
)
def test_the_single_named_operation_is_found(document: str, name: str | None) -> None:
    assert operation_name_in_document(document) == name


def _expected(document: str) -> str | None:
    operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].name is None:
        return None
    return operations[0].name.value


names = st.from_regex(r"[_A-Za-z][_0-9A-Za-z]{0,8}", fullmatch=True)
gaps = st.sampled_from([" ", "  ", "\n", ",", " , ", "\t", "\n# a comment { query X\n"])
values = st.one_of(
    st.integers(-5, 5).map(str),
    st.text(alphabet='abc {}()#"\\ ', max_size=6).map(lambda s: orjson.dumps(s).decode()),
    st.just('"""block { } query Z"""'),
    st.just("{x: 1, y: [true, null]}"),
)


@st.composite
def selection_sets(draw: st.DrawFn, depth: int = 0) -> str:
    fields = []
    for _ in range(draw(st.integers(1, 3))):
        field = draw(names)
        if draw(st.booleans()):
            field += f"(arg: {draw(values)})"
        if depth < 2 and draw(st.booleans()):
            field += draw(gaps) + draw(selection_sets(depth + 1))
        fields.append(field)
    gap = draw(gaps)
    return "{" + gap + gap.join(fields) + gap + "}"


@st.composite
def definitions(draw: st.DrawFn) -> str:
    body = draw(selection_sets())
    kind = draw(st.sampled_from(["shorthand", "query", "mutation", "subscription", "fragment"]))
    if kind == "shorthand":
        return body
    if kind == "fragment":
        return f"fragment {draw(names.filter(lambda n: n != 'on'))} on {draw(names)} {body}"
    header = kind
    if draw(st.booleans()):
        header += " " + draw(names)
    if draw(st.booleans()):
        header += "($v: Int = 1)"
    if draw(st.booleans()):
        header += " @skip(if: false)"
    return header + draw(gaps) + body


@settings(max_examples=250, deadline=None)
@given(st.lists(definitions(), min_size=1, max_size=3), gaps)
def test_the_scan_agrees_with_graphql_core(parts: list[str], gap: str) -> None:
    document = gap.join(parts)
    assert operation_name_in_document(document) == _expected(document)


def test_a_json_body_is_named_by_operation_name_then_its_operation() -> None:
    body = {"query": "query A { a } query B { b }", "operationName": "B"}
    assert graphql_name_from_body(orjson.dumps(body)) == "B"
    assert graphql_name_from_body(b'{"query": "query GetCards { a }"}') == "GetCards"
    assert graphql_name_from_body(b'{"query": "{ a }", "operationName": null}') == NOT_SPECIFIED
    assert graphql_name_from_body(b'{"query": "{ a }", "operationName": 7}') == NOT_SPECIFIED


@pytest.mark.parametrize(
    "body", [b"not json", b'[{"query": "{ a }"}]', b'{"query": 5}', b'{"q": "{ a }"}', b""]
)
def test_a_body_without_a_query_string_is_not_graphql(body: bytes) -> None:
    assert graphql_name_from_body(body) is None


def test_a_get_request_is_named_from_its_parameters() -> None:
    assert graphql_name_from_query_string("query=query%20GetCards%20%7B%20a%20%7D") == "GetCards"
    assert graphql_name_from_query_string("query=%7Ba%7D&operationName=Named") == "Named"
    assert graphql_name_from_query_string("query=%7Ba%7D") == NOT_SPECIFIED
    assert graphql_name_from_query_string("search=shoes") is None


def test_names_are_made_acceptable_to_the_ingest_api() -> None:
    assert safe_name("GET /cards/a\nb\x00c") == "GET /cards/a\ufffdb\ufffdc"
    assert len(safe_name("x" * 1000)) == 256
    assert safe_name("Grüße 🚀") == "Grüße 🚀"
    body = orjson.dumps({"query": "{ a }", "operationName": "Evil\r\n" + "y" * 300})
    name = graphql_name_from_body(body)
    assert name is not None and len(name) == 256 and name.isprintable()


def test_a_document_seen_before_is_named_the_same_way_cached_or_not() -> None:
    long_name = "Op" + "x" * 300  # made safe before it is cached
    short = f"query {long_name} {{ a }}"
    long = "query Long { a }" + " " * 5000  # over the cache's size limit: scanned each time
    for _ in range(3):
        assert graphql_name_from_body(orjson.dumps({"query": short})) == long_name[:256]
        assert graphql_name_from_body(orjson.dumps({"query": long})) == "Long"
        assert graphql_name_from_body(orjson.dumps({"query": "{ a }"})) == NOT_SPECIFIED
        # operationName still wins over the cached name of the same document
        assert graphql_name_from_body(orjson.dumps({"query": short, "operationName": "B"})) == "B"
