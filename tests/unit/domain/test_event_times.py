"""Event times (spec §5): every text either becomes an exact instant or one rejection
naming ``time`` -- never an exception that would fail the whole batch (issue 11 item 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tallyboard.domain.event_fold import usage_deltas
from tallyboard.domain.event_time import epoch_ms, format_ms
from tallyboard.domain.event_validation import EventValidator
from tallyboard.domain.events import Event, Rejection, RejectionCode
from tallyboard.ingest.window import Window
from tests.support.events import api_call

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
ORG = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
SHAPE = "time: must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:15:00Z"
RANGE = "time: must lie within the years 0001 to 9999 once converted to UTC"
FIRST_MS = epoch_ms(datetime(1, 1, 1, tzinfo=UTC))
LAST_MS = epoch_ms(datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC))


def outcome(time: object) -> Event | Rejection:
    return EventValidator().validate({**api_call(ORG, NOW), "time": time}, 0)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("9999-12-31T23:59:59-23:59", RANGE),  # the two examples: valid texts
        ("0001-01-01T00:00:00+23:59", RANGE),  # whose instants fall outside the calendar
        ("9999-12-31T23:59:59.999999-00:01", RANGE),
        ("0000-01-01T00:00:00Z", SHAPE),
        ("2026-11-21T24:00:00Z", SHAPE),
        ("2026-11-21T10:15:61Z", SHAPE),
        ("2026-02-30T10:15:00Z", SHAPE),
        ("2026-13-01T10:15:00Z", SHAPE),
        ("2026-11-21T10:15:00+24:00", SHAPE),
        ("2026-11-21T10:15:00", SHAPE),  # no time zone
        ("2026-11-21T10:15:00.123456789123456789123456789123456789123456789Z", SHAPE),
        ("", SHAPE),
    ],
)
def test_times_that_cannot_be_an_instant_are_one_rejection_naming_time(
    text: str, message: str
) -> None:
    rejection = outcome(text)
    assert isinstance(rejection, Rejection)
    assert rejection.code is RejectionCode.INVALID_EVENT
    assert rejection.message == message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-12-31T23:59:60Z", datetime(2016, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("2016-12-31T23:59:60.5+00:00", datetime(2016, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
        ("2026-11-21t10:15:00z", datetime(2026, 11, 21, 10, 15, tzinfo=UTC)),
        ("2026-11-21T10:15:00.123456789Z", datetime(2026, 11, 21, 10, 15, 0, 123000, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("9999-12-31T23:59:59.999+00:00", datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)),
    ],
)
def test_rfc_3339_edge_cases_that_are_instants(text: str, expected: datetime) -> None:
    """A leap second is the last millisecond of its minute; a lower-case z is UTC."""
    event = outcome(text)
    assert isinstance(event, Event), event
    assert event.time_ms == epoch_ms(expected)


def _two(low: int, high: int) -> st.SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


_offset = st.one_of(
    st.sampled_from(["Z", "z", "+00:00", "-00:00"]),
    st.tuples(st.sampled_from("+-"), _two(0, 25), _two(0, 61)).map(
        lambda p: f"{p[0]}{p[1]}:{p[2]}"
    ),
)
_timestamps = st.builds(
    lambda y, mo, d, sep, h, mi, s, frac, off: f"{y:04d}-{mo}-{d}{sep}{h}:{mi}:{s}{frac}{off}",
    st.one_of(st.integers(0, 9999), st.sampled_from([0, 1, 9999])),
    _two(0, 13),
    _two(0, 32),
    st.sampled_from(["T", "t", " "]),
    _two(0, 25),
    _two(0, 61),
    _two(0, 61),
    st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=30).map(lambda f: f".{f}")),
    _offset,
)


@given(st.one_of(_timestamps, st.text(max_size=70)))
@example("9999-12-31T23:59:59-23:59")
@example("0001-01-01T00:00:00+23:59")
@example("9999-12-31T23:59:60-23:59")
def test_any_time_text_is_an_instant_in_range_or_a_time_rejection(text: str) -> None:
    """Whatever the text, validation never raises, and an accepted time can be windowed,
    printed and folded into a day (the steps that overflowed before)."""
    result = outcome(text)
    if isinstance(result, Rejection):
        assert result.message in (SHAPE, RANGE)
        return
    assert FIRST_MS <= result.time_ms <= LAST_MS
    assert outcome(format_ms(result.time_ms)).time_ms == result.time_ms  # type: ignore[union-attr]
    Window.backfill(NOW, 400, 300).problem(result.time_ms)
    result.org_pk = 1
    (key,) = usage_deltas([result]).api_calls
    assert (
        key[1] == (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=result.time_ms)).date()
    )


_offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)), _offsets)
def test_every_instant_written_in_any_offset_is_read_back_exactly(
    local: datetime, zone: Any
) -> None:
    moment = local.replace(tzinfo=zone)
    event = outcome(moment.isoformat())
    assert isinstance(event, Event), event
    assert event.time_ms == epoch_ms(moment)
