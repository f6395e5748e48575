"""The typed input of every statistic, checked whole before anything else happens.

Each query's arguments become one frozen input object through its ``parse``, which
collects every problem (a bad UUID, a bad ``first``, a foreign cursor ...) and raises
them together as one ``INVALID_INPUT``. Parsing needs no principal and reads nothing
but the instance's cursor secret, so it always runs before authorization: a client
learns everything wrong with its request in one round trip. The messages and argument
paths are the API's (spec §4); they must not change.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Period
from tallyboard.domain.usage import ApiDimension
from tallyboard.stats.cursor import CursorCodec, PagePosition
from tallyboard.stats.flow_listing import FlowFilter, FlowSort, Position, SortField

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "ApiUsageInput",
    "CombinedInput",
    "FlowDetailsInput",
    "OrganizationInput",
]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_DIMENSIONS = {
    "operation_name": ApiDimension.OPERATION_NAME,
    "token": ApiDimension.TOKEN,
}


def _canonical(value: str) -> str | None:
    if type(value) is str and _CANONICAL.fullmatch(value):
        return value  # already what str(UUID(value)) would give; skip the parse
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def _uuid(value: str, argument: str, problems: list[Problem]) -> str:
    canonical = _canonical(value)
    if canonical is None:
        problems.append(Problem(argument, f"{value!r} is not a valid UUID"))
        return ""
    return canonical


def _uuids(values: Sequence[str], limit: int, problems: list[Problem]) -> tuple[str, ...]:
    """Canonical UUIDs in first-seen order (deduplicated)."""
    if not values:
        problems.append(Problem("organizationUuids", "must contain at least 1 UUID"))
    elif len(values) > limit:
        problems.append(
            Problem("organizationUuids", f"must contain at most {limit} UUIDs, got {len(values)}")
        )
    seen: dict[str, None] = {}
    for index, value in enumerate(values):
        canonical = _uuid(value, f"organizationUuids[{index}]", problems)
        if canonical:
            seen.setdefault(canonical, None)
    return tuple(seen)


def _period(value: str, problems: list[Problem]) -> Period:
    try:
        return Period(value)
    except ValueError:  # the schema's enum already refuses anything else
        problems.append(Problem("period", f"unknown period {value!r}"))
        return Period.CURRENT_MONTH


def _dimension(value: str | None, problems: list[Problem]) -> ApiDimension | None:
    if value is None:
        return None
    found = _DIMENSIONS.get(value)
    if found is None:  # the schema's enum already refuses anything else
        problems.append(Problem("dimension", f"unknown dimension {value!r}"))
    return found


def _raise_if_any(problems: list[Problem]) -> None:
    if problems:
        raise InvalidInputError(problems)


@dataclass(frozen=True, slots=True)
class OrganizationInput:
    """One organization over one period (most single-organization statistics)."""

    organization_uuid: str
    period: Period

    @classmethod
    def parse(cls, organization_uuid: str, period: str) -> OrganizationInput:
        problems: list[Problem] = []
        parsed = cls(
            _uuid(organization_uuid, "organizationUuid", problems), _period(period, problems)
        )
        _raise_if_any(problems)
        return parsed


@dataclass(frozen=True, slots=True)
class ApiUsageInput:
    """``apiUsageStats``: one organization, a period and an optional top-list dimension."""

    organization_uuid: str
    period: Period
    dimension: ApiDimension | None

    @classmethod
    def parse(cls, organization_uuid: str, period: str, dimension: str | None) -> ApiUsageInput:
        problems: list[Problem] = []
        parsed = cls(
            _uuid(organization_uuid, "organizationUuid", problems),
            _period(period, problems),
            _dimension(dimension, problems),
        )
        _raise_if_any(problems)
        return parsed

    @staticmethod
    def parse_dimension(dimension: str | None) -> ApiDimension | None:
        """A dimension argument on its own (``topItems`` of the combined answer)."""
        problems: list[Problem] = []
        parsed = _dimension(dimension, problems)
        _raise_if_any(problems)
        return parsed


@dataclass(frozen=True, slots=True)
class CombinedInput:
    """A combined statistic: up to ``limit`` organizations over one period."""

    organization_uuids: tuple[str, ...]
    """Canonical and deduplicated, in first-seen order."""
    period: Period

    @classmethod
    def parse(cls, organization_uuids: Sequence[str], period: str, *, limit: int) -> CombinedInput:
        problems: list[Problem] = []
        parsed = cls(_uuids(organization_uuids, limit, problems), _period(period, problems))
        _raise_if_any(problems)
        return parsed


@dataclass(frozen=True, slots=True)
class FlowDetailsInput:
    """``integrationsUsageDetails``: which flows, in which order, from where."""

    organization_uuid: str
    period: Period
    flow_filter: FlowFilter
    sort: FlowSort
    first: int
    after: Position | None
    binding: str
    """What this query's cursors are bound to (see :meth:`PagePosition.binding`)."""

    @classmethod
    def parse(
        cls,
        organization_uuid: str,
        period: str,
        *,
        status: str | None,
        search: str | None,
        sort_by: str | None,
        sort_order: str | None,
        first: int | None,
        after: str | None,
        cursors: CursorCodec,
    ) -> FlowDetailsInput:
        problems: list[Problem] = []
        org_uuid = _uuid(organization_uuid, "organizationUuid", problems)
        parsed_period = _period(period, problems)
        flow_filter, filter_problems = FlowFilter.parse(status, search)
        problems += filter_problems
        sort = FlowSort.parse(sort_by, sort_order)
        size = DEFAULT_PAGE_SIZE if first is None else first
        if not 1 <= size <= MAX_PAGE_SIZE:
            problems.append(Problem("first", f"must be between 1 and {MAX_PAGE_SIZE}, got {size}"))
        binding = PagePosition.binding(
            [
                org_uuid,
                str(parsed_period),
                flow_filter.status,
                flow_filter.search,
                str(sort.field),
                sort.descending,
            ]
        )
        position = None
        if after is not None:
            value_type = int if sort.field is SortField.USAGE else str
            found = PagePosition(cursors).decode(
                after, binding, value_type, check_binding=bool(org_uuid)
            )
            if isinstance(found, Problem):
                problems.append(found)
            else:
                position = Position(*found)
        _raise_if_any(problems)
        return cls(org_uuid, parsed_period, flow_filter, sort, size, position, binding)


@dataclass(frozen=True, slots=True)
class OrganizationOnlyInput:
    """One organization, no period (``usageForecast``: always this month)."""

    organization_uuid: str

    @classmethod
    def parse(cls, organization_uuid: str) -> OrganizationOnlyInput:
        problems: list[Problem] = []
        parsed = cls(_uuid(organization_uuid, "organizationUuid", problems))
        _raise_if_any(problems)
        return parsed
