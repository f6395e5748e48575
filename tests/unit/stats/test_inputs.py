"""Typed statistic inputs: every problem of a request in one INVALID_INPUT, with the
API's paths and messages, before anything is authorized or read."""

from __future__ import annotations

import pytest

from tallyboard.domain.errors import InvalidInputError
from tallyboard.domain.periods import Period
from tallyboard.domain.usage import ApiDimension
from tallyboard.stats.cursor import CursorCodec, PagePosition
from tallyboard.stats.flow_listing import FlowSort, Position
from tallyboard.stats.inputs import (
    ApiUsageInput,
    CombinedInput,
    FlowDetailsInput,
    OrganizationInput,
)

ORG = "0c7a3f4e-1d2b-4c5d-8e9f-0a1b2c3d4e5f"
CURSORS = CursorCodec(lambda: b"k" * 32)


def problems(error: pytest.ExceptionInfo[InvalidInputError]) -> list[tuple[str, str]]:
    return [(p.path, p.reason) for p in error.value.problems]


def details(**arguments: object) -> FlowDetailsInput:
    base: dict[str, object] = {
        "status": None,
        "search": None,
        "sort_by": None,
        "sort_order": None,
        "first": None,
        "after": None,
    }
    org = str(arguments.pop("org", ORG))
    return FlowDetailsInput.parse(
        org,
        "current_month",
        cursors=CURSORS,
        **{**base, **arguments},  # type: ignore[arg-type]
    )


def test_a_uuid_is_made_canonical() -> None:
    parsed = OrganizationInput.parse(ORG.upper(), "last_month")
    assert parsed == OrganizationInput(ORG, Period.LAST_MONTH)
    assert ApiUsageInput.parse(ORG, "current_month", "token").dimension is ApiDimension.TOKEN


def test_every_problem_of_a_flow_page_is_reported_at_once() -> None:
    with pytest.raises(InvalidInputError) as error:
        details(org="nope", status="on", search="a\x00", first=0, after="x")
    assert problems(error) == [
        ("organizationUuid", "'nope' is not a valid UUID"),
        ("status", "must be ENABLED or DISABLED (any case), got 'on'"),
        ("search", "must not contain control characters (found U+0000)"),
        ("first", "must be between 1 and 100, got 0"),
        ("after", "is not a cursor issued by this server"),
    ]


def test_a_cursor_is_valid_only_for_the_query_that_issued_it() -> None:
    page = details(first=5)
    cursor = PagePosition(CURSORS).encode(page.binding, 7, "f-1")
    assert details(first=5, after=cursor).after == Position(7, "f-1")
    with pytest.raises(InvalidInputError) as error:
        details(first=5, after=cursor, sort_by="name")
    assert problems(error) == [
        (
            "after",
            "belongs to a different query: organization, period, status, search and "
            "sort must stay the same while paginating",
        )
    ]
    # A name-ordered query's cursor holds a name, never a number.
    by_name = details(sort_by="name")
    assert by_name.sort == FlowSort.parse("name", None)
    forged = PagePosition(CURSORS).encode(by_name.binding, 7, "f-1")
    with pytest.raises(InvalidInputError):
        details(sort_by="name", after=forged)


def test_combined_organizations_are_deduplicated_and_every_bad_one_named() -> None:
    parsed = CombinedInput.parse([ORG, ORG.upper()], "last_3_months", limit=2)
    assert parsed.organization_uuids == (ORG,)
    with pytest.raises(InvalidInputError) as error:
        CombinedInput.parse([ORG, "x", ORG, "y"], "current_month", limit=3)
    assert problems(error) == [
        ("organizationUuids", "must contain at most 3 UUIDs, got 4"),
        ("organizationUuids[1]", "'x' is not a valid UUID"),
        ("organizationUuids[3]", "'y' is not a valid UUID"),
    ]
    with pytest.raises(InvalidInputError) as error:
        CombinedInput.parse([], "current_month", limit=3)
    assert problems(error) == [("organizationUuids", "must contain at least 1 UUID")]
