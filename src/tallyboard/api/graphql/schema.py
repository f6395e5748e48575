"""The executable schema: the SDL in ``schema.graphql`` bound to the resolvers.

Schema-first on purpose: the contract is an SDL file, and keeping ours as SDL makes
compatibility reviewable line by line. ``tallyboard schema`` prints exactly what is
served; ``schema.graphql`` at the repository root is that output (a test keeps it
current, and ``make contract`` checks it against the public contract).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from importlib.resources import files

from ariadne import MutationType, QueryType, ScalarType, make_executable_schema
from graphql import GraphQLSchema, print_schema
from graphql.type.scalars import serialize_int

from tallyboard.api.graphql.resolvers import (
    ai_credits,
    alerts,
    api_usage,
    automations_combined,
    exports,
    integrations,
    tenancy,
    usage_details,
)
from tallyboard.domain.periods import format_datetime

__all__ = ["SAFE_INT", "build_schema", "schema_sdl"]

SAFE_INT = 2**53 - 1
"""Largest count the ``Int`` fields carry (decision 0012): exact in every JSON reader."""

_datetime = ScalarType("DateTime")


@_datetime.serializer
def _serialize_datetime(value: datetime | str) -> str:
    return value if isinstance(value, str) else format_datetime(value)


@_datetime.value_parser
def _parse_datetime(value: object) -> object:
    """A date-time, or the value as sent: the statistic's input then reports it as
    ``INVALID_INPUT`` naming its argument (``filterDate.from``), like any bad value."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value


_int = ScalarType("Int")


@_int.serializer
def _serialize_count(value: object) -> object:
    # A month of a large platform's API calls, or 25 organizations' summed allowances,
    # passes 2^31; failing the whole answer would be worse than a wider number.
    if type(value) is int and -SAFE_INT <= value <= SAFE_INT:
        return value
    return serialize_int(value)


def _sdl() -> str:
    return files("tallyboard.api.graphql").joinpath("schema.graphql").read_text("utf-8")


@cache
def build_schema() -> GraphQLSchema:
    """Built once per process: the schema is immutable and safe to share."""
    query = QueryType()
    integrations.bind(query)
    ai_credits.bind(query)
    automations_combined.bind(query)
    alerts.bind(query)
    mutation = MutationType()
    exports.bind(query, mutation)
    types = [*tenancy.bind(query), *api_usage.bind(query), *usage_details.bind(query)]
    schema: GraphQLSchema = make_executable_schema(_sdl(), query, mutation, _datetime, _int, *types)
    return schema


def schema_sdl() -> str:
    return print_schema(build_schema()) + "\n"
