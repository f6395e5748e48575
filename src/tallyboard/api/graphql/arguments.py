"""Argument values the schema's types cannot check, checked with clear messages."""

from __future__ import annotations

import re
import uuid

from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Period

__all__ = ["organization_uuid", "organization_uuids", "period"]


_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _canonical(value: str) -> str | None:
    if type(value) is str and _CANONICAL.fullmatch(value):
        return value  # already what str(UUID(value)) would give; skip the parse
    try:
        return str(uuid.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


def organization_uuid(value: str, *, argument: str = "organizationUuid") -> str:
    canonical = _canonical(value)
    if canonical is None:
        raise InvalidInputError([Problem(argument, f"{value!r} is not a valid UUID")])
    return canonical


def organization_uuids(values: list[str], limit: int) -> list[str]:
    """Canonical UUIDs in first-seen order; every problem of the list reported at once."""
    problems: list[Problem] = []
    if not values:
        problems.append(Problem("organizationUuids", "must contain at least 1 UUID"))
    elif len(values) > limit:
        problems.append(
            Problem("organizationUuids", f"must contain at most {limit} UUIDs, got {len(values)}")
        )
    seen: dict[str, None] = {}
    for index, value in enumerate(values):
        canonical = _canonical(value)
        if canonical is None:
            problems.append(
                Problem(f"organizationUuids[{index}]", f"{value!r} is not a valid UUID")
            )
        else:
            seen.setdefault(canonical, None)
    if problems:
        raise InvalidInputError(problems)
    return list(seen)


def period(value: str) -> Period:
    return Period(value)
