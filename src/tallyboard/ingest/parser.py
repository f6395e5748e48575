"""Ingest request bodies: a JSON array of events, or NDJSON (one event per line).

Limits are checked before anything is stored: more than ``max_events`` events is a
413 for the whole request (the byte limit is enforced while reading the body). A body
that cannot be read as events at all is a 400 naming the problem. In NDJSON, a line
that is not JSON is *one* invalid event (``INVALID_EVENT`` at its index, naming the
line): the other lines of the request are still ingested, exactly as an invalid event
in a JSON array would be. Only when no line at all is JSON is the body a 400.
"""

from __future__ import annotations

import orjson

from tallyboard.domain.errors import BadRequestError, PayloadTooLargeError
from tallyboard.domain.events import NotJson

__all__ = ["NDJSON_TYPES", "is_ndjson", "parse_events"]

NDJSON_TYPES = frozenset({"application/x-ndjson", "application/ndjson", "application/jsonl"})


def is_ndjson(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() in NDJSON_TYPES


def _too_many(count: int, max_events: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request holds {count} events; at most {max_events} are accepted per request"
    )


def parse_events(body: bytes, *, ndjson: bool, max_events: int) -> list[object]:
    """The raw events of a body, in order (``NotJson`` for an NDJSON line that is not JSON)."""
    if ndjson:
        return _parse_ndjson(body, max_events)
    if not body.strip():
        raise BadRequestError(
            "The body is empty: send a JSON array of events "
            "(or NDJSON with Content-Type: application/x-ndjson)"
        )
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequestError(
            f"The body is not valid JSON ({exc}); send a JSON array of events, or NDJSON "
            "with Content-Type: application/x-ndjson"
        ) from None
    if not isinstance(parsed, list):
        raise BadRequestError("The body must be a JSON array of events")
    if len(parsed) > max_events:
        raise _too_many(len(parsed), max_events)
    return parsed


def _parse_ndjson(body: bytes, max_events: int) -> list[object]:
    lines = [line for line in body.split(b"\n") if line.strip()]
    if len(lines) > max_events:
        raise _too_many(len(lines), max_events)
    events: list[object] = []
    failures = 0
    loads = orjson.loads
    for line in lines:
        try:
            events.append(loads(line))
        except orjson.JSONDecodeError as exc:
            failures += 1
            events.append(NotJson(f"event: not valid JSON ({exc})"))
    if events and failures == len(events):
        raise BadRequestError(
            "The body is not NDJSON: no line is a JSON value "
            f"(first problem: {_first_reason(events)})"
        )
    return events


def _first_reason(events: list[object]) -> str:
    first = events[0]
    return first.reason if isinstance(first, NotJson) else ""
