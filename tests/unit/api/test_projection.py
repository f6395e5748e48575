"""The precompiled projection answers exactly what graphql-core's executor answers.

Each document runs both ways against the same schema and resolvers; the projection
must either produce the identical result (data, error messages, paths, locations) or
decline (None at compile time, ``Fallback`` at run time) so the endpoint executes it
normally.
"""

from __future__ import annotations

from typing import Any

import pytest
from graphql import build_schema, execute_sync, parse, validate

from tallyboard.api.graphql.projection import Fallback, compile_projection

SDL = """
type Query {
  stats(org: ID!, limit: Int): Stats
  many(orgs: [ID!]!): [Row!]
  broken: Stats
  denied(org: ID!): Stats
  strict: Strict
}
type Stats { total: Int!, ratio: Float, label: String, ok: Boolean!, rows: [Row!]! }
type Row { id: ID!, value: Float!, nested: Stats }
type Strict { must: Int! }
"""


def _schema() -> Any:
    schema = build_schema(SDL)
    fields = schema.query_type.fields  # type: ignore[union-attr]

    def stats(_: Any, info: Any, org: str, limit: int | None = None) -> dict[str, Any]:
        rows = [{"id": f"{org}-{i}", "value": i / 4, "nested": None} for i in range(limit or 2)]
        return {"total": 7, "ratio": 0.5, "label": None, "ok": True, "rows": rows}

    def many(_: Any, info: Any, orgs: list[str]) -> list[dict[str, Any]]:
        return [
            {"id": o, "value": 1.0, "nested": {"total": 1, "ok": False, "rows": []}} for o in orgs
        ]

    def broken(_: Any, info: Any) -> Any:
        raise RuntimeError("boom")

    def denied(_: Any, info: Any, org: str) -> Any:
        raise PermissionError(f"no access to {org}")

    def strict(_: Any, info: Any) -> dict[str, Any]:
        return {"must": None}

    fields["stats"].resolve = stats
    fields["many"].resolve = many
    fields["broken"].resolve = broken
    fields["denied"].resolve = denied
    fields["strict"].resolve = strict
    return schema


SCHEMA = _schema()

SAME = [
    ("{ __typename }", {}),
    ('{ stats(org: "a") { total ratio label ok rows { id value nested { total } } } }', {}),
    (
        "query Q($o: ID!, $n: Int) {"
        " s: stats(org: $o, limit: $n) { __typename t: total rows { id } } }",
        {"o": "x", "n": 3},
    ),
    (
        "query Q($os: [ID!]!) { many(orgs: $os) { id value nested { ok rows { id } } } }",
        {"os": ["p", "q"]},
    ),
    ('{ broken { total } stats(org: "b") { total } }', {}),
    ('{ denied(org: "z") { total } t: __typename }', {}),
]


def _both(query: str, variables: dict[str, Any]) -> tuple[Any, Any]:
    document = parse(query)
    assert not validate(SCHEMA, document)
    operation = document.definitions[0]
    projection = compile_projection(SCHEMA, operation)  # type: ignore[arg-type]
    assert projection is not None
    expected = execute_sync(SCHEMA, document, variable_values=variables)
    actual = projection.execute(None, variables)
    return expected, actual


def _errors(result: Any) -> list[tuple[str, Any, Any]]:
    return [(e.message, e.path, e.locations) for e in result.errors or []]


@pytest.mark.parametrize(("query", "variables"), SAME)
def test_projection_equals_the_executor(query: str, variables: dict[str, Any]) -> None:
    expected, actual = _both(query, variables)
    assert actual is not None
    assert actual.data == expected.data
    assert list(actual.data) == list(expected.data)  # same key order in the JSON
    assert _errors(actual) == _errors(expected)
    # Repeated (memoized variables and projections): still the same answer.
    _, again = _both(query, variables)
    assert again is not None and again.data == expected.data


def test_variables_that_do_not_coerce_are_left_to_the_executor() -> None:
    query = 'query Q($n: Int) { stats(org: "a", limit: $n) { total } }'
    operation = parse(query).definitions[0]
    projection = compile_projection(SCHEMA, operation)  # type: ignore[arg-type]
    assert projection is not None
    assert projection.execute(None, {"n": 2}) is not None
    assert projection.execute(None, {"n": "two"}) is None
    assert projection.execute(None, {"n": True}) is None  # True == 1 in Python, not here


def test_a_null_in_a_non_null_position_falls_back() -> None:
    operation = parse("{ strict { must } }").definitions[0]
    projection = compile_projection(SCHEMA, operation)  # type: ignore[arg-type]
    assert projection is not None
    with pytest.raises(Fallback):
        projection.execute(None, {})


@pytest.mark.parametrize(
    "query",
    [
        '{ stats(org: "a") { ...F } } fragment F on Stats { total }',
        '{ stats(org: "a") { ... on Stats { total } } }',
        '{ stats(org: "a") @include(if: true) { total } }',
        "{ __schema { queryType { name } } }",
        '{ stats(org: "a") { total } stats(org: "a") { ok } }',
    ],
)
def test_documents_needing_the_general_executor_are_not_compiled(query: str) -> None:
    document = parse(query)
    assert compile_projection(SCHEMA, document.definitions[0]) is None  # type: ignore[arg-type]
