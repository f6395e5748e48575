"""Ingest requests for the fuzz: batches of the events of ``ingest_events``, and bodies.

Batches go out as JSON arrays or NDJSON (blank lines, CRLF, lines that are not JSON,
events repeated within the batch), with the content types the docs name and others, to
``/v1/events`` (an instance-wide and an organization-bound key) and
``/v1/admin/backfill`` (the admin token), and with credentials that must be refused.
Each request carries the status the documented rules give it and, for a batch that
will be parsed, the expected outcome of each of its events.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import strategies as st

from tests.support.events import ai_credit, api_call
from tests.support.fuzz.checks import Sent, Suite
from tests.support.fuzz.ingest_events import (
    ANY,
    INVALID,
    MUTATIONS,
    Item,
    Lane,
    broken_event,
    fresh_event,
    stored_event,
)
from tests.support.fuzz.server import World
from tests.support.fuzz.values import encode, nested_json

__all__ = ["expected_parse", "ingest_suites"]

Draw = Callable[[st.SearchStrategy[Any]], Any]
MAX_EVENTS = 10_000
MAX_BODY = 5 * 1024 * 1024
MAX_CREDITS = 10**6
"""The largest ``credits`` one event may carry (docs/ingest.md)."""
CEILING_CREDITS = 10**8
"""The most one organization's month may hold in credits (docs/ingest.md)."""
NDJSON_TYPES = ["application/x-ndjson", "application/ndjson", "application/jsonl"]
JSON_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", ""]
_GARBAGE_LINES = [b"{", b"nope", b'{"id": }', b"\x00", b"[1,", b"{'a': 1}", b"\xff\xfe"]


def _lanes(world: World, *, good: bool = True) -> st.SearchStrategy[Lane]:
    """Credentials the endpoints must accept (``good``), or must refuse with 401."""
    every = frozenset({0, 1, 2})
    key, bound, admin = world.ingest_keys["all"], world.ingest_keys["bound"], world.admin_token
    if good:
        return st.sampled_from(
            [
                Lane("/v1/events", "instance key", f"Bearer {key}", True, every),
                Lane("/v1/events", "bound key", f"Bearer {bound}", True, frozenset({0})),
                Lane("/v1/admin/backfill", "admin token", f"Bearer {admin}", True, every),
            ]
        )
    return st.sampled_from(
        [
            Lane("/v1/events", "no header", None, False, every),
            Lane("/v1/events", "unknown key", "Bearer tb_ing_" + "B" * 43, False, every),
            Lane("/v1/events", "GraphQL token", f"Bearer {world.tokens['super']}", False, every),
            Lane("/v1/events", "admin token", f"Bearer {admin}", False, every),
            Lane("/v1/events", "scheme only", "Bearer", False, every),
            Lane("/v1/admin/backfill", "ingest key", f"Bearer {key}", False, every),
            Lane("/v1/admin/backfill", "no header", None, False, every),
        ]
    )


def is_ndjson(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in NDJSON_TYPES


def _is_json(line: bytes) -> bool:
    try:
        orjson.loads(line)
    except orjson.JSONDecodeError:
        return False
    return True


def expected_parse(body: bytes, ndjson: bool) -> tuple[int, int]:
    """(status, number of events) docs/ingest.md gives a body sent with a good credential:
    413 beyond 5 MiB or 10,000 events; 400 when it is not events at all (blank, not JSON,
    not an array, NDJSON of which no line is JSON); else 200, one outcome per array item
    or non-blank NDJSON line."""
    if len(body) > MAX_BODY:
        return 413, 0
    if ndjson:
        lines = [line for line in body.split(b"\n") if line.strip()]
        if len(lines) > MAX_EVENTS:
            return 413, 0
        if lines and not any(_is_json(line) for line in lines):
            return 400, 0
        return 200, len(lines)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return 400, 0
    if not isinstance(parsed, list):
        return 400, 0
    return (413, 0) if len(parsed) > MAX_EVENTS else (200, len(parsed))


def _sent(lane: Lane, kind: str, body: bytes, content_type: str, items: list[Item]) -> Sent:
    status, size = expected_parse(body, is_ndjson(content_type)) if lane.ok else (401, 0)
    headers = {"Content-Type": content_type} if content_type else {}
    if lane.header is not None:
        headers["Authorization"] = lane.header
    context: dict[str, Any] = {"auth": lane.auth, "status": status, "size": size}
    ndjson = is_ndjson(content_type)
    context["parts"] = [
        (i.label, encode(i.value) if ndjson else encode([i.value])) for i in items if i.label
    ]
    if status == 200 and items and size == len(items):
        context["items"] = [
            (
                i.expect,
                i.label,
                i.value.get("id") if isinstance(i.value, dict) else None,
                encode(i.value).decode(),
            )
            for i in items
        ]
    return Sent(lane.endpoint, kind, body, headers, context=context)


def _items(
    draw: Draw, world: World, lane: Lane, ids: itertools.count[int], broken: str | None
) -> list[Item]:
    """Valid events and replays, one to three events broken the ``broken`` way among
    them, and up to two events repeated within the batch."""
    makers = st.one_of(fresh_event(world, lane, ids), stored_event(world, lane))
    items: list[Item] = draw(st.lists(makers, max_size=12))
    if broken is not None:
        for _ in range(draw(st.integers(1, 3))):
            item = draw(broken_event(world, lane, ids, broken))
            items.insert(draw(st.integers(0, len(items))), item)
    if items:
        for j in draw(st.lists(st.integers(0, len(items) - 1), max_size=2)):
            original = items[j]
            items.append(Item(copy.deepcopy(original.value), ANY, original.label))
    return items


@st.composite
def _batch(
    draw: Draw, world: World, ids: itertools.count[int], broken: str | None, good: bool = True
) -> Sent:
    lane = draw(_lanes(world, good=good))
    items = _items(draw, world, lane, ids, broken)
    kind = f"batch with {broken}" if broken else "valid batch"
    if not good:
        kind = "refused credential"
    if draw(st.booleans()):
        body = encode([item.value for item in items])
        return _sent(lane, kind, body, draw(st.sampled_from(JSON_TYPES)), items)
    return _ndjson(draw, lane, kind, items, junk=False)


@st.composite
def _ndjson_junk(draw: Draw, world: World, ids: itertools.count[int]) -> Sent:
    lane = draw(_lanes(world))
    return _ndjson(
        draw, lane, "NDJSON with junk lines", _items(draw, world, lane, ids, None), junk=True
    )


def _ndjson(draw: Draw, lane: Lane, kind: str, items: list[Item], *, junk: bool) -> Sent:
    lines: list[tuple[bytes, Item | None]] = [(encode(item.value), item) for item in items]
    garbage = st.sampled_from(_GARBAGE_LINES).map(
        lambda line: (line, Item(None, INVALID, "line that is not JSON"))
    )
    blank = st.sampled_from([b"", b"  ", b"\t"]).map(lambda line: (line, None))
    extras = st.one_of(garbage, blank) if junk else blank
    for extra in draw(st.lists(extras, min_size=1 if junk else 0, max_size=4)):
        lines.insert(draw(st.integers(0, len(lines))), extra)
    separator = draw(st.sampled_from([b"\n", b"\r\n"]))
    body = separator.join(line for line, _ in lines) + draw(st.sampled_from([b"", separator]))
    kept = [item for line, item in lines if item is not None and line.strip()]
    content_type = draw(st.sampled_from([*NDJSON_TYPES, "Application/X-NDJSON; charset=utf-8"]))
    return _sent(lane, kind, body, content_type, kept)


_RAW = [
    b"",
    b"   ",
    b"{}",
    b'{"events": []}',
    b"null",
    b"5",
    b'"x"',
    b"[",
    b"[{}",
    b"[1, 2, 3]",
    b"[null]",
    b"[[]]",
    b"[{}]",
    b'[{"id": "\x00"}]',
    b"\xff\xfe",
    b"\xef\xbb\xbf[]",
    b"[1e999]",
    b"[]garbage",
    b'[{"a": NaN}]',
]


def _many(count: int, ndjson: bool) -> bytes:
    """``count`` empty events (built on demand: hypothesis prints its strategies)."""
    return b"{}\n" * count if ndjson else b"[" + b"{}," * (count - 1) + b"{}]"


@st.composite
def _raw_body(draw: Draw, world: World) -> Sent:
    lane = draw(_lanes(world))
    deep = st.integers(1, 5_000).map(lambda n: nested_json(n, as_object=n % 2 == 0).encode())
    content_type = draw(st.sampled_from(JSON_TYPES + NDJSON_TYPES))
    many = st.sampled_from([MAX_EVENTS, MAX_EVENTS + 1]).map(
        lambda n: _many(n, is_ndjson(content_type))
    )
    body = draw(st.one_of(st.sampled_from(_RAW), st.binary(max_size=200), deep, many))
    return _sent(lane, "raw body", body, content_type, [])


@st.composite
def _oversized(draw: Draw, world: World) -> Sent:
    lane = draw(_lanes(world))
    body = b"[" + b" " * (MAX_BODY + draw(st.integers(-2, 2))) + b"]"
    return _sent(lane, "body near 5 MiB", body, "application/json", [])


@st.composite
def _huge_amounts(draw: Draw, world: World) -> Sent:
    """Valid events with the largest amount the rules accept, all for one rollup row
    (organization A's assistants today), beside organization B's events: however they
    add up -- past the monthly ceiling after a hundred of these -- never a 5xx, and B's
    events are stored."""
    count = draw(st.integers(1, CEILING_CREDITS // MAX_CREDITS + 20))
    return _largest_credits(world, count, draw(_lanes(world)), others=draw(st.integers(0, 3)))


def _largest_credits(
    world: World, count: int, lane: Lane | None = None, *, others: int = 2
) -> Sent:
    if lane is None:
        key = world.ingest_keys["all"]
        lane = Lane("/v1/events", "instance key", f"Bearer {key}", True, frozenset({0, 1, 2}))
    now = datetime.now(UTC)
    a, b = world.org_uuids[0], world.org_uuids[1]
    items = [
        Item(
            ai_credit(a, now, credits=MAX_CREDITS, resource="assistant", agent=None),
            ANY,
            "largest credits",
        )
        for _ in range(count)
    ]
    for position in range(others):  # another organization's events, spread among them
        event = api_call(b, now) if position % 2 else ai_credit(b, now, credits=MAX_CREDITS)
        expect = lane.refusal(1) or "accepted"
        items.insert(position * len(items) // max(1, others), Item(event, expect, "beside"))
    return _sent(lane, "largest amounts", _array(items), "application/json", items)


def _seeds(world: World) -> list[Sent]:
    """The reproductions issue 11 gives for ingest, each beside a valid event that must
    still be stored (one bad event is one rejection, never the whole batch)."""
    key, admin = world.ingest_keys["all"], world.admin_token
    live = Lane("/v1/events", "instance key", f"Bearer {key}", True, frozenset({0, 1, 2}))
    backfill = Lane("/v1/admin/backfill", "admin token", f"Bearer {admin}", True, live.may_send_for)
    org, now = world.org_uuids[0], datetime.now(UTC)
    overflowing = [("9999-12-31T23:59:59-23:59", live), ("0001-01-01T00:00:00+23:59", backfill)]
    seeds = []
    for time, lane in overflowing:  # item 4
        broken = {**api_call(org, now), "time": time}
        items = [Item(api_call(org, now), "accepted", "valid api.call")]
        items.append(Item(broken, INVALID, "overflowing time"))
        seeds.append(_sent(lane, "batch with overflowing time", _array(items), "", items))
    nul = api_call(org, now, label="a\x00b")  # item 5: NUL in a name
    items = [
        Item(api_call(org, now), "accepted", "valid api.call"),
        Item(nul, INVALID, "control character"),
    ]
    seeds.append(_sent(live, "batch with control character", _array(items), "", items))
    return seeds


def _array(items: list[Item]) -> bytes:
    return encode([item.value for item in items])


def ingest_suites(world: World) -> list[Suite]:
    """Every kind of ingest request with its number of examples (about 180 in all)."""
    ids = itertools.count()
    return [
        Suite(0, None, tuple(_seeds(world))),
        Suite(30, _batch(world, ids, None)),
        *(Suite(6, _batch(world, ids, how)) for how in MUTATIONS),
        Suite(15, _ndjson_junk(world, ids)),
        Suite(15, _batch(world, ids, None, good=False)),
        Suite(35, _raw_body(world)),
        Suite(4, _oversized(world)),
        # Last: once these fill organization A's monthly credit ceiling, every later credit
        # of A this month is rejected (INVALID_EVENT), as docs/ingest.md says.
        Suite(
            6,
            _huge_amounts(world),
            # The fuzz's reproduction beside another organization's events: 12 of the
            # largest, then past the monthly ceiling in one batch.
            (
                _largest_credits(world, 12),
                _largest_credits(world, CEILING_CREDITS // MAX_CREDITS + 1),
            ),
        ),
    ]
