"""The shape of a ``POST /graphql`` request: JSON body -> :class:`GraphQLRequest`.

Pure translation, no I/O: every refusal is a ``BadRequestError`` whose message the
endpoint answers with ``BAD_REQUEST`` (400).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from tallyboard.domain.errors import BadRequestError
from tallyboard.domain.text import MAX_NAME_LENGTH

__all__ = ["JSON_DEPTH", "GraphQLRequest", "decode", "long_name", "query_of", "read_request"]

JSON_DEPTH = 1024
"""Deepest JSON nesting a request body may have (orjson's own limit)."""


@dataclass(frozen=True, slots=True)
class GraphQLRequest:
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    """None when the request names no operation (an empty name names none either)."""


def decode(body: bytes) -> Any:
    """The body's JSON value."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "depth limit" in str(exc):  # orjson parses at most 1,024 levels
            raise BadRequestError(
                f"The request body nests JSON more than {JSON_DEPTH} levels deep"
            ) from None
        raise BadRequestError("The request body is not valid JSON") from None


def query_of(payload: Any) -> str | None:
    """The query text, if the payload has one (to look its document up before the
    request is read in full)."""
    query = payload.get("query") if isinstance(payload, dict) else None
    return query if isinstance(query, str) else None


def read_request(payload: Any) -> GraphQLRequest:
    """The request a decoded body makes, checked in the order clients are told about."""
    if isinstance(payload, list):
        raise BadRequestError(
            "Batched requests (a JSON array) are not supported: send one operation per request"
        )
    if not isinstance(payload, dict):
        raise BadRequestError("The request body must be a JSON object")
    query = payload.get("query")
    variables = payload.get("variables")
    operation_name = payload.get("operationName")
    if not isinstance(query, str) or not query.strip():
        raise BadRequestError("The request has no query")
    if variables is not None and not isinstance(variables, dict):
        raise BadRequestError("variables must be a JSON object")
    if operation_name is not None and not isinstance(operation_name, str):
        raise BadRequestError("operationName must be a string")
    if operation_name is not None and len(operation_name) > MAX_NAME_LENGTH:
        raise BadRequestError(long_name(len(operation_name)))
    return GraphQLRequest(query, variables or {}, operation_name or None)


def long_name(length: int) -> str:
    """Operation names are metered (a rollup key): bounded like every name (domain/text.py)."""
    return (
        f"operationName: operation names may have at most {MAX_NAME_LENGTH} characters, "
        f"this one has {length}; the request was not executed"
    )
