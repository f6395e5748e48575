"""How a listing's day range is split between the monthly and the daily rollups
(``storage/usage_entry_reader.split_range``): whole months read one row per entry."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tallyboard.storage.usage_entry_reader import split_range


def test_whole_months_are_months_and_the_rest_day_spans() -> None:
    spans, months = split_range(date(2026, 10, 1), date(2026, 12, 31))
    assert (spans, months) == ([], ["2026-10", "2026-11", "2026-12"])
    spans, months = split_range(date(2026, 10, 15), date(2026, 12, 6))
    assert months == ["2026-11"]
    assert spans == [
        (date(2026, 10, 15), date(2026, 10, 31)),
        (date(2026, 12, 1), date(2026, 12, 6)),
    ]


def test_a_single_day_and_a_partial_single_month_are_days() -> None:
    assert split_range(date(2026, 2, 28), date(2026, 2, 28)) == (
        [(date(2026, 2, 28), date(2026, 2, 28))],
        [],
    )
    assert split_range(date(2026, 2, 1), date(2026, 2, 27))[1] == []
    assert split_range(date(2024, 2, 1), date(2024, 2, 29)) == ([], ["2024-02"])


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)), st.integers(0, 150))
def test_every_day_is_covered_exactly_once(first: date, length: int) -> None:
    last = first + timedelta(days=length)
    spans, months = split_range(first, last)
    covered = [a + timedelta(days=i) for a, b in spans for i in range((b - a).days + 1)]
    for month in months:
        day = date.fromisoformat(month + "-01")
        while day.isoformat()[:7] == month:
            covered.append(day)
            day += timedelta(days=1)
    expected = [first + timedelta(days=i) for i in range(length + 1)]
    assert sorted(covered) == expected
    assert len(spans) <= 2  # only the first and the last month can be partial
