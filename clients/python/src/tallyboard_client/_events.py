"""Turning the meter's counts into ``api.call`` events: ids, times, encoding.

Kept apart from the meter so the rules the server relies on sit in one place: an event's
``time`` lies inside the UTC day of its key, every id is unique per meter (a random part
plus a sequence number), and no event carries more than the server accepts as ``count``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

__all__ = [
    "DAY_SECONDS",
    "MAX_COUNT",
    "EncodedBatch",
    "Key",
    "day_bounds",
    "encode_batch",
    "new_id_prefix",
]

DAY_SECONDS = 86_400
_DAY_MS = DAY_SECONDS * 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_COUNT = 1_000_000_000
"""The largest ``count`` the ingest API takes in one event; bigger sums are split."""

Key = tuple[str, int, str | None, str, int]
"""(organization, UTC day as days since the epoch, operation name, token name, status)."""


def day_bounds(now: float) -> tuple[int, float, float]:
    """The UTC day of ``now`` (days since the epoch) and its start and end as epoch
    seconds: the meter caches them and recomputes only when the clock leaves the day."""
    day = int(now // DAY_SECONDS)
    start = float(day * DAY_SECONDS)
    return day, start, start + DAY_SECONDS


def new_id_prefix() -> str:
    """The random part of a meter's event ids: 64 bits, so meters sharing a ``source``
    (several processes, or a process restarted) never reuse each other's ids."""
    return f"m{secrets.token_hex(8)}-"


def event_time(day: int, now: float) -> str:
    """``now`` clamped into the UTC day ``day``, as RFC 3339 with milliseconds.

    A key flushed on its own day gets the current time; one recorded before midnight
    and flushed after it gets the last millisecond of its day, so the call is counted
    on the day (and in the month) it happened.
    """
    start = day * _DAY_MS
    ms = min(max(int(now * 1000), start), start + _DAY_MS - 1)
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@dataclass
class EncodedBatch:
    """Events ready to send, each line with the number of calls it carries."""

    lines: list[bytes] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)
    unencodable: int = 0
    """Calls whose key could not be encoded as JSON (a value of an unsupported type)."""

    @property
    def calls(self) -> int:
        return sum(self.counts)


def _split(count: int) -> Iterator[int]:
    while count > MAX_COUNT:
        yield MAX_COUNT
        count -= MAX_COUNT
    yield count


def encode_batch(
    counts: Mapping[Key, int], source: str, prefix: str, first_seq: int, now: float
) -> tuple[EncodedBatch, int]:
    """Encode every key as one event (or several, past :data:`MAX_COUNT`) with ids
    ``prefix + sequence``; returns the batch and the next free sequence number."""
    batch = EncodedBatch()
    times: dict[int, str] = {}
    seq = first_seq
    for (organization, day, operation, token, status), total in counts.items():
        stamp = times.get(day)
        if stamp is None:
            stamp = times[day] = event_time(day, now)
        for count in _split(total):
            event = {
                "id": f"{prefix}{seq:x}",
                "source": source,
                "type": "api.call",
                "time": stamp,
                "organization": organization,
                "data": {
                    "operationName": operation,
                    "tokenName": token,
                    "status": status,
                    "count": count,
                },
            }
            seq += 1
            try:
                line = orjson.dumps(event)
            except TypeError:
                batch.unencodable += count
                continue
            batch.lines.append(line)
            batch.counts.append(count)
    return batch, seq
