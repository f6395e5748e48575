"""Request parsing at the GraphQL edge: every shape refusal is a BAD_REQUEST message."""

from __future__ import annotations

from typing import Any

import pytest

from tallyboard.api.graphql.request import GraphQLRequest, decode, query_of, read_request
from tallyboard.domain.errors import BadRequestError
from tallyboard.domain.text import MAX_NAME_LENGTH


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([{"query": "{a}"}], "Batched requests"),
        ("{a}", "must be a JSON object"),
        ({"query": "  "}, "has no query"),
        ({"query": "{a}", "variables": [1]}, "variables must be a JSON object"),
        ({"query": "{a}", "operationName": 3}, "operationName must be a string"),
        ({"query": "{a}", "operationName": "x" * (MAX_NAME_LENGTH + 1)}, "at most"),
    ],
)
def test_shape_refusals(payload: Any, message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        read_request(payload)


def test_a_request() -> None:
    assert read_request({"query": "{a}", "operationName": ""}) == GraphQLRequest("{a}", {}, None)
    assert read_request({"query": "{a}", "variables": {"x": 1}, "operationName": "Q"}) == (
        GraphQLRequest("{a}", {"x": 1}, "Q")
    )
    assert query_of({"query": "{a}"}) == "{a}"
    assert query_of([]) is None


def test_bodies_that_are_not_json() -> None:
    with pytest.raises(BadRequestError, match="not valid JSON"):
        decode(b"{")
    with pytest.raises(BadRequestError, match="nests JSON more than 1024"):
        decode(b"[" * 2000 + b"]" * 2000)
