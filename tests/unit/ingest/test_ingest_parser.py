"""Request bodies: JSON arrays, NDJSON, limits and unparsable bodies."""

from __future__ import annotations

import pytest

from tallyboard.domain.errors import BadRequestError, PayloadTooLargeError
from tallyboard.domain.events import NotJson
from tallyboard.ingest.parser import is_ndjson, parse_events


def test_a_json_array_and_ndjson_give_the_same_events() -> None:
    assert parse_events(b'[{"a": 1}, 2]', ndjson=False, max_events=10) == [{"a": 1}, 2]
    body = b'{"a": 1}\r\n\n  \n2\n'
    assert parse_events(body, ndjson=True, max_events=10) == [{"a": 1}, 2]
    assert parse_events(b"[]", ndjson=False, max_events=10) == []
    assert parse_events(b"", ndjson=True, max_events=10) == []


def test_an_ndjson_line_that_is_not_json_is_one_invalid_event() -> None:
    events = parse_events(b'{"a": 1}\n\n{oops\n3', ndjson=True, max_events=10)
    assert events[0] == {"a": 1} and events[2] == 3
    assert isinstance(events[1], NotJson) and events[1].reason.startswith("event: not valid JSON")


@pytest.mark.parametrize(
    ("body", "ndjson", "message"),
    [
        (b"{not json", False, "not valid JSON"),
        (b'{"id": "x"}', False, "must be a JSON array"),
        (b"   ", False, "empty"),
        (b"garbage\nmore garbage", True, "not NDJSON"),
    ],
)
def test_a_body_that_is_not_events_at_all_is_a_bad_request(
    body: bytes, ndjson: bool, message: str
) -> None:
    with pytest.raises(BadRequestError, match=message) as caught:
        parse_events(body, ndjson=ndjson, max_events=10)
    assert not isinstance(caught.value, PayloadTooLargeError)


def test_more_events_than_allowed_is_too_large() -> None:
    with pytest.raises(PayloadTooLargeError, match="3 events; at most 2"):
        parse_events(b"[1,2,3]", ndjson=False, max_events=2)
    with pytest.raises(PayloadTooLargeError):
        parse_events(b"1\n2\n3\n", ndjson=True, max_events=2)


def test_content_types() -> None:
    assert is_ndjson("application/x-ndjson; charset=utf-8")
    assert is_ndjson("Application/NDJSON")
    assert not is_ndjson("application/json")
    assert not is_ndjson(None)
