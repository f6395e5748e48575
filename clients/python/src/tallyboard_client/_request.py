"""What the ASGI and WSGI middleware share: the per-request slot the Strawberry extension
fills, the guarded calls of the application's callables, and the naming decision."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Final, TypeVar

from tallyboard_client.meter import UsageMeter
from tallyboard_client.naming import (
    NOT_SPECIFIED,
    graphql_name_from_body,
    graphql_name_from_query_string,
    safe_name,
)

__all__ = [
    "CURRENT_OPERATION",
    "DEFAULT_MAX_BODY_BYTES",
    "OVER_LIMIT",
    "CurrentOperation",
    "checked",
    "guarded",
    "name_of_graphql_request",
]

DEFAULT_MAX_BODY_BYTES: Final = 1024 * 1024
"""Bodies up to this size are read to find a GraphQL operation name (1 MiB, like
Tallyboard's own GraphQL endpoint); larger ones are streamed through untouched."""

T = TypeVar("T")


class CurrentOperation:
    """The name of the operation a GraphQL server executed for the current request, as
    reported by :class:`tallyboard_client.strawberry.MeteringExtension`."""

    __slots__ = ("name",)

    def __init__(self) -> None:
        self.name: str | None = None


CURRENT_OPERATION: ContextVar[CurrentOperation | None] = ContextVar(
    "tallyboard_client_current_operation", default=None
)


class _OverLimit:
    """A body larger than the limit: metered as ``"Not specified"``, never read."""

    def __repr__(self) -> str:
        return "OVER_LIMIT"


OVER_LIMIT: Final = _OverLimit()


def guarded(meter: UsageMeter, role: str, function: Callable[[T], object], arg: T) -> str | None:
    """``function(arg)`` if it returns a string; otherwise (``None``, an exception, any
    other type) ``None``, and the last two are counted in ``meter.errors`` and logged once
    per kind. The application's request never sees what happened here."""
    try:
        value = function(arg)
    except Exception as exc:
        meter.note_error(f"{role} raised {type(exc).__name__}", exc)
        return None
    if value.__class__ is str:  # the usual answer, without a further call
        return value
    return checked(meter, role, value)


def checked(meter: UsageMeter, role: str, value: object) -> str | None:
    """``value`` if it is a string, ``None`` if it is ``None``; anything else is ``None``
    counted (and logged once) as an error of the application's callable."""
    if value is None or isinstance(value, str):
        return value
    meter.note_error(f"{role} returned {type(value).__name__}, not a string or None")
    return None


def name_of_graphql_request(
    current: CurrentOperation, body: bytes | _OverLimit | None, query_string: str | None
) -> str | None:
    """The operation name of a request read as GraphQL, or ``None`` when it is not one.

    The executed operation (from the Strawberry extension) wins; the body and the query
    string are only parsed when needed, after the response started.
    """
    if current.name is not None:
        return safe_name(current.name)
    if body is OVER_LIMIT:
        return NOT_SPECIFIED
    if isinstance(body, bytes):
        return graphql_name_from_body(body)
    if query_string is not None:
        return graphql_name_from_query_string(query_string)
    return None
