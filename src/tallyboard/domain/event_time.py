"""Event times: RFC 3339 text to exact epoch milliseconds, and back for messages.

Pure. The window a request accepts (whose refusal names the backfill endpoint) is the
ingest edge's: ``tallyboard.ingest.window``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = ["TIME_SHAPE", "epoch_ms", "format_ms", "parse_time"]

_MAX_TIME_LENGTH = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_FIRST_MS = -62_135_596_800_000
"""0001-01-01T00:00:00Z: the first instant a calendar date (and ``format_ms``) can hold."""
_LAST_MS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z: the last one."""


def epoch_ms(moment: datetime) -> int:
    """Exact epoch milliseconds (no float rounding)."""
    return (moment - _EPOCH) // _MS


def format_ms(time_ms: int) -> str:
    moment = _EPOCH + timedelta(milliseconds=time_ms)
    text = f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}"  # %Y does not pad years < 1000
    return f"{text}.{time_ms % 1000:03d}Z" if time_ms % 1000 else f"{text}Z"


TIME_SHAPE = "must be an RFC 3339 timestamp with a time zone, e.g. 2026-11-21T10:15:00Z"
_TIME_RANGE = "must lie within the years 0001 to 9999 once converted to UTC"


def parse_time(text: str) -> int | str:
    """Exact epoch milliseconds of an RFC 3339 timestamp with a time zone, or why not.

    Refused (one ``INVALID_EVENT`` naming ``time``, never a failed batch):
    anything unparseable, no time zone, and instants outside years 1-9999 in UTC
    (``9999-12-31T23:59:59-23:59`` is a valid text whose instant no calendar
    arithmetic could bucket or print). A leap second (``23:59:60``) is accepted, as
    RFC 3339 allows, and counts as the last millisecond of its minute; a lower-case
    ``z`` is UTC, as RFC 3339 allows. Digits beyond the microsecond are ignored.
    """
    if len(text) > _MAX_TIME_LENGTH or len(text) < 20:
        return TIME_SHAPE
    leap = text[17] == "6" and text[18] == "0" and text[16] == ":" and text[13] == ":"
    if leap:
        text = f"{text[:17]}59{text[19:]}"
    if text[-1] == "z":
        text = f"{text[:-1]}Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return TIME_SHAPE
    except OverflowError:  # e.g. 9999-12-31T24:00:00Z, on Pythons that accept 24:00
        return _TIME_RANGE
    if moment.tzinfo is None:
        return TIME_SHAPE
    time_ms = epoch_ms(moment)  # timedelta arithmetic: cannot overflow, unlike astimezone()
    if not _FIRST_MS <= time_ms <= _LAST_MS:
        return _TIME_RANGE
    return time_ms - time_ms % 1000 + 999 if leap else time_ms
