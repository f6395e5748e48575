"""The Strawberry extension on its own: what it reports for each way an operation ends,
on both of Strawberry's execution paths (``execute`` for ASGI views, ``execute_sync``
for the Flask view behind the WSGI middleware)."""

from __future__ import annotations

import asyncio

import pytest
import strawberry

from tallyboard_client._request import CURRENT_OPERATION, CurrentOperation
from tallyboard_client.strawberry import MeteringExtension
from tests import apps

TWO = 'query First { cards { id } } query Second { echo(text: "x") }'

CASES = [  # document, operationName, what the extension reports (None: nothing)
    ("query GetCards { cards { id } }", None, "GetCards"),
    ("{ cards { id } }", None, "Not specified"),
    (TWO, "Second", "Second"),
    ('mutation Make { createCards(titles: ["a"]) { id } }', None, "Make"),
    ("query Failing { fail }", None, "Failing"),  # a resolver error: it was executed
    ("query Invalid { noSuchField }", None, None),  # refused by validation
    ("query Broken { cards { id }", None, None),  # refused by the parser
]


def executed_name(
    schema: strawberry.Schema, sync: bool, document: str, name: str | None
) -> str | None:
    current = CurrentOperation()
    token = CURRENT_OPERATION.set(current)
    try:
        if sync:
            schema.execute_sync(document, operation_name=name)
        else:
            asyncio.run(schema.execute(document, operation_name=name))
    finally:
        CURRENT_OPERATION.reset(token)
    return current.name


@pytest.mark.parametrize("sync", [False, True], ids=["execute", "execute_sync"])
@pytest.mark.parametrize(("document", "operation_name", "expected"), CASES)
def test_the_extension_reports_the_executed_operation_only(
    sync: bool, document: str, operation_name: str | None, expected: str | None
) -> None:
    schema = apps.schema(MeteringExtension)
    assert executed_name(schema, sync, document, operation_name) == expected


def test_outside_a_metered_request_the_extension_does_nothing() -> None:
    result = apps.schema(MeteringExtension).execute_sync("query GetCards { cards { id } }")
    assert result.errors is None
    assert result.extensions == {}
