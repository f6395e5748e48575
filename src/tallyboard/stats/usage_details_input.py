"""The typed input of ``automationsUsageDetails`` and ``agentsUsageDetails`` (spec §9),
checked whole: every invalid argument in one ``INVALID_INPUT``, before authorization.

The day range must lie in the ``last_3_months`` window at the time of the request
(``now``): from the 1st of the month two months ago 00:00:00Z to the last second of
the current month, ``from <= to`` compared as instants. Usage counts whole UTC days,
``from``'s date through ``to``'s date.

``SortCriteria`` takes ``by``/``order`` and their synonyms ``field``/``direction``
(``by``/``order`` win when both are given). A valid ``by`` without a valid order sorts
``usage`` descending and every other key ascending; anything else sorts usage
descending. Cursors are bound to the organization, the day range, the search, the
filters and the sort -- not to ``first``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import orjson

from tallyboard.domain.errors import InvalidInputError, Problem
from tallyboard.domain.periods import Month
from tallyboard.domain.text import MAX_NAME_LENGTH, character_problem
from tallyboard.stats.cursor import CursorCodec, PagePosition
from tallyboard.stats.entry_listing import EntryFilter, EntrySort, SortField, SortKey
from tallyboard.stats.inputs import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, _canonical

__all__ = ["DayRange", "PageInput", "UsageDetailsInput", "encode_key", "parse_sort"]

_FILTERS = ("action", "event", "pipe", "status", "tags")


@dataclass(frozen=True, slots=True)
class DayRange:
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return datetime(self.first.year, self.first.month, self.first.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime(self.last.year, self.last.month, self.last.day, 23, 59, 59, tzinfo=UTC)

    @property
    def months(self) -> tuple[Month, ...]:
        first, last = Month.of(self.first), Month.of(self.last)
        return tuple(Month.from_index(i) for i in range(first.index, last.index + 1))


def parse_sort(sort: Mapping[str, Any] | None) -> EntrySort:
    """``SortCriteria`` with its synonyms; never fails (anything unknown: the default)."""
    sort = sort or {}
    by = sort.get("by") if sort.get("by") is not None else sort.get("field")
    order = sort.get("order") if sort.get("order") is not None else sort.get("direction")
    try:
        field = SortField(str(by or "").strip().lower())
    except ValueError:
        return EntrySort(SortField.USAGE, descending=True)
    wanted = str(order or "").strip().lower()
    descending = wanted == "desc" if wanted in ("asc", "desc") else field is SortField.USAGE
    return EntrySort(field, descending)


def _aware(value: object, argument: str, problems: list[Problem]) -> datetime | None:
    if not isinstance(value, datetime):
        problems.append(Problem(argument, "must be a date-time such as 2026-11-01T00:00:00Z"))
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _day_range(value: Mapping[str, Any], now: datetime, problems: list[Problem]) -> DayRange:
    this_month = Month.of(now.astimezone(UTC).date())
    low, high = this_month.shift(-2).start, this_month.end_exclusive
    start = _aware(value.get("from"), "filterDate.from", problems)
    end = _aware(value.get("to"), "filterDate.to", problems)
    for moment, argument in ((start, "filterDate.from"), (end, "filterDate.to")):
        if moment is not None and not low <= moment < high:
            problems.append(
                Problem(
                    argument,
                    f"must lie between {low:%Y-%m-%dT%H:%M:%SZ} and "
                    f"{high.replace(second=0):%Y-%m-%d} minus one second (the last 3 months)",
                )
            )
    if start is not None and end is not None and start > end:
        problems.append(Problem("filterDate", "from must not be after to"))
    if start is None or end is None:
        return DayRange(now.date(), now.date())
    return DayRange(start.astimezone(UTC).date(), end.astimezone(UTC).date())


def _search(value: str | None, problems: list[Problem]) -> str | None:
    if value is None:
        return None
    problem = character_problem(value)
    if problem is None and len(value) > MAX_NAME_LENGTH:
        problem = f"must be at most {MAX_NAME_LENGTH} characters (no name is longer)"
    if problem is not None:
        problems.append(Problem("search", problem))
    return value.strip().casefold() or None


def _filters(value: Mapping[str, Any] | None, problems: list[Problem]) -> EntryFilter:
    lists: dict[str, frozenset[str]] = {}
    for name in _FILTERS:
        raw = (value or {}).get(name)
        items = [raw] if isinstance(raw, str) else list(raw or ())
        for index, item in enumerate(items):
            if not isinstance(item, str) or character_problem(item) is not None:
                problems.append(Problem(f"filters.{name}[{index}]", "must be plain text"))
        texts = [item for item in items if isinstance(item, str)]
        lists[name] = frozenset(t.casefold() if name == "status" else t for t in texts)
    return EntryFilter(None, **lists)


@dataclass(frozen=True, slots=True)
class UsageDetailsInput:
    """The root arguments: which organization, days, entries and order."""

    organization_uuid: str
    days: DayRange
    entry_filter: EntryFilter
    sort: EntrySort
    binding: str
    """What this listing's cursors are bound to (``PagePosition.binding``)."""

    @classmethod
    def parse(
        cls,
        organization_uuid: str,
        filter_date: Mapping[str, Any],
        *,
        search: str | None,
        filters: Mapping[str, Any] | None,
        sort: Mapping[str, Any] | None,
        now: datetime,
    ) -> UsageDetailsInput:
        problems: list[Problem] = []
        org_uuid = _canonical(organization_uuid) or ""
        if not org_uuid:
            reason = f"{organization_uuid!r} is not a valid UUID"
            problems.append(Problem("organizationUuid", reason))
        days = _day_range(filter_date, now, problems)
        listed = _filters(filters, problems)
        entry_filter = EntryFilter(_search(search, problems), *_lists(listed))
        parsed_sort = parse_sort(sort)
        binding = PagePosition.binding(
            [
                org_uuid,
                days.first.isoformat(),
                days.last.isoformat(),
                entry_filter.search,
                *(",".join(sorted(items)) for items in _lists(entry_filter)),
                str(parsed_sort.field),
                parsed_sort.descending,
            ]
        )
        if problems:
            raise InvalidInputError(problems)
        return cls(org_uuid, days, entry_filter, parsed_sort, binding)


@dataclass(frozen=True, slots=True)
class PageInput:
    """``automations(first, after)`` / ``agents(first, after)``."""

    first: int
    after: tuple[SortKey, str] | None

    @classmethod
    def parse(
        cls, first: int | None, after: str | None, *, binding: str, cursors: CursorCodec
    ) -> PageInput:
        problems: list[Problem] = []
        size = DEFAULT_PAGE_SIZE if first is None else first
        if not 1 <= size <= MAX_PAGE_SIZE:
            problems.append(Problem("first", f"must be between 1 and {MAX_PAGE_SIZE}, got {size}"))
        position = None
        if after is not None:
            found = PagePosition(cursors).decode(after, binding, str)
            if isinstance(found, Problem):
                problems.append(found)
            else:
                position = _position(found)
                if position is None:
                    problems.append(Problem("after", "is not a cursor issued by this server"))
        if problems:
            raise InvalidInputError(problems)
        return cls(size, position)


def _lists(entry_filter: EntryFilter) -> tuple[frozenset[str], ...]:
    return tuple(getattr(entry_filter, name) for name in _FILTERS)


def encode_key(key: SortKey) -> str:
    """A sort key as a cursor's value (``PagePosition`` carries text or an integer)."""
    return orjson.dumps(list(key)).decode()


def _position(found: tuple[str | int, str]) -> tuple[SortKey, str] | None:
    value, row_id = found
    try:
        decoded = orjson.loads(str(value))
    except orjson.JSONDecodeError:  # pragma: no cover - only signed cursors get here
        return None
    if not isinstance(decoded, list) or len(decoded) != 2 or decoded[0] not in (0, 1):
        return None
    if not isinstance(decoded[1], (int, str)) or isinstance(decoded[1], bool):
        return None
    return (decoded[0], decoded[1]), row_id
