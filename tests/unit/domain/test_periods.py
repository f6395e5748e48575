"""Period maths: calendar months in UTC, checked exhaustively with hypothesis."""

from __future__ import annotations

import calendar
import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyboard.domain.periods import Month, Period, format_datetime, resolve_period

instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9998, 12, 31), timezones=st.just(UTC)
)


def test_resolves_the_contract_example_of_2026_11_21() -> None:
    now = datetime(2026, 11, 21, 15, 4, 5, tzinfo=UTC)
    current = resolve_period(Period.CURRENT_MONTH, now)
    last = resolve_period(Period.LAST_MONTH, now)
    three = resolve_period(Period.LAST_3_MONTHS, now)
    assert (format_datetime(current.start), format_datetime(current.end)) == (
        "2026-11-01T00:00:00Z",
        "2026-11-30T23:59:59Z",
    )
    assert (format_datetime(last.start), format_datetime(last.end)) == (
        "2026-10-01T00:00:00Z",
        "2026-10-31T23:59:59Z",
    )
    assert (format_datetime(three.start), format_datetime(three.end)) == (
        "2026-09-01T00:00:00Z",
        "2026-11-30T23:59:59Z",
    )


@given(instants)
def test_every_period_is_whole_months_ending_on_their_last_second(now: datetime) -> None:
    for period in Period:
        window = resolve_period(period, now)
        assert window.start == window.first_month.start
        assert window.start.day == 1 and window.start.time() == datetime.min.time()
        last = window.last_month
        assert window.end == datetime(
            last.year,
            last.month,
            calendar.monthrange(last.year, last.month)[1],
            23,
            59,
            59,
            tzinfo=UTC,
        )
        indexes = [m.index for m in window.months]
        assert indexes == list(range(indexes[0], indexes[0] + len(indexes)))


@given(instants)
def test_current_and_three_month_periods_contain_now_and_last_month_precedes_it(
    now: datetime,
) -> None:
    current = resolve_period(Period.CURRENT_MONTH, now)
    three = resolve_period(Period.LAST_3_MONTHS, now)
    last = resolve_period(Period.LAST_MONTH, now)
    assert current.start <= now <= current.end + timedelta(seconds=1)
    assert three.months[-1] == current.months[0] and len(three.months) == 3
    assert last.end_exclusive == current.start
    assert three.months[1] == last.months[0]


@given(instants)
def test_daily_buckets_run_from_the_first_up_to_today_without_gaps(now: datetime) -> None:
    for period in Period:
        window = resolve_period(period, now)
        days = window.days_to_date()
        assert days[0] == window.first_day
        assert days[-1] == min(window.last_day, now.date())
        assert all(b - a == timedelta(days=1) for a, b in itertools.pairwise(days))
        assert all(day <= now.date() for day in days)


@given(instants)
def test_monthly_buckets_never_include_a_future_month(now: datetime) -> None:
    window = resolve_period(Period.LAST_3_MONTHS, now)
    assert window.months_to_date() == list(window.months)
    assert window.uses_monthly_buckets
    assert not resolve_period(Period.CURRENT_MONTH, now).uses_monthly_buckets


@given(st.integers(min_value=13, max_value=12 * 9998))
def test_month_index_round_trips_and_shifts_by_one(index: int) -> None:
    month = Month.from_index(index)
    assert month.index == index
    assert month.shift(1).index == index + 1 and month.shift(-1).index == index - 1
    assert Month.parse(str(month)) == month
    assert month.shift(1).first_day == month.last_day + timedelta(days=1)


def test_the_last_second_of_a_month_still_belongs_to_it() -> None:
    now = datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    window = resolve_period(Period.CURRENT_MONTH, now)
    assert str(window.first_month) == "2026-12"
    assert window.days_to_date()[-1] == date(2026, 12, 31)
    assert str(
        resolve_period(Period.CURRENT_MONTH, now + timedelta(microseconds=1)).first_month
    ) == ("2027-01")


def test_last_three_months_span_a_year_boundary() -> None:
    window = resolve_period(Period.LAST_3_MONTHS, datetime(2027, 1, 5, tzinfo=UTC))
    assert [str(m) for m in window.months] == ["2026-11", "2026-12", "2027-01"]


@pytest.mark.parametrize(("year", "days"), [(2024, 29), (2100, 28), (2000, 29), (2026, 28)])
def test_february_has_the_days_of_its_year(year: int, days: int) -> None:
    window = resolve_period(Period.LAST_MONTH, datetime(year, 3, 1, tzinfo=UTC))
    assert len(window.days_to_date()) == days
    assert window.end == datetime(year, 2, days, 23, 59, 59, tzinfo=UTC)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        resolve_period(Period.CURRENT_MONTH, datetime(2026, 1, 1))


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-01", "2026/01", "abcd-ef", ""])
def test_month_parse_names_the_expected_shape(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        Month.parse(text)
