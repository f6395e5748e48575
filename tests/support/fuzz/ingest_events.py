"""Events for the ingest fuzz, each with what docs/ingest.md says must become of it.

An :class:`Item` is one event of a batch and its expected outcome: ``accepted`` (valid,
never sent before, for an organization the credential may use, inside the window),
``duplicate`` (an exact replay of an event stored when the world was seeded), a
rejection code, or ``any`` where the contract leaves the outcome open. Shape problems
are reported before the organization is looked at (docs/ingest.md: checks run in the
order a caller can act on), so a broken event is ``INVALID_EVENT`` whoever sends it.
Valid events get their ids from a counter: fresh in the run whatever hypothesis draws.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz.server import World
from tests.support.fuzz.values import clean_text, hostile_json, hostile_text

__all__ = [
    "ANY",
    "INVALID",
    "MUTATIONS",
    "Item",
    "Lane",
    "broken_event",
    "fresh_event",
    "stored_event",
]

Draw = Callable[[st.SearchStrategy[Any]], Any]
DAY_MS = 86_400_000
ANY = "any"
INVALID = "INVALID_EVENT"
ACCEPTED = "accepted"


@dataclass(frozen=True)
class Lane:
    """Where a batch goes and with which credential."""

    endpoint: str
    auth: str
    header: str | None
    ok: bool
    may_send_for: frozenset[int]
    """Indexes of the world's organizations this credential may send events for."""

    @property
    def backfill(self) -> bool:
        return self.endpoint.endswith("backfill")

    def refusal(self, org: int | None) -> str | None:
        """The code an event for organization ``org`` (None: unknown) is refused with."""
        if len(self.may_send_for) == 1 and org not in self.may_send_for:
            return "FORBIDDEN_ORGANIZATION"  # a bound key: unknown or not, the same answer
        return "UNKNOWN_ORGANIZATION" if org is None else None


@dataclass(frozen=True)
class Item:
    value: Any
    expect: str
    label: str
    """How the event was made (failures are grouped by it)."""


def _rfc3339(moment: datetime, draw: Draw) -> str:
    offset = timedelta(minutes=draw(st.sampled_from([0, 0, 60, -300, 330, 14 * 60, -12 * 60])))
    local = moment.astimezone(UTC) + offset
    digits = draw(st.sampled_from([0, 3, 6]))
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if digits:
        text += "." + f"{local.microsecond:06d}"[:digits]
    if not offset:
        return text + "Z"
    sign = "+" if offset >= timedelta(0) else "-"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _valid_time(draw: Draw, lane: Lane) -> str:
    """Well inside the window: up to a minute ahead, 30 (live) or 399 (backfill) days back."""
    span_days = 399 if lane.backfill else 30
    back = draw(st.integers(min_value=-60_000, max_value=span_days * DAY_MS))
    return _rfc3339(datetime.now(UTC) - timedelta(milliseconds=back), draw)


def _names(max_size: int) -> st.SearchStrategy[str]:
    return st.one_of(clean_text(1, 20), clean_text(max_size, max_size))


def _api_call(draw: Draw, world: World) -> dict[str, Any]:
    data: dict[str, Any] = {"tokenName": draw(_names(256))}
    if draw(st.booleans()):
        data["operationName"] = draw(st.one_of(st.none(), st.just(""), _names(256)))
    if draw(st.booleans()):
        data["status"] = draw(st.integers(min_value=100, max_value=599))
    if draw(st.booleans()):
        data["count"] = draw(st.integers(min_value=1, max_value=10**9))
    return data


def _task(draw: Draw, world: World) -> dict[str, Any]:
    flow = draw(st.one_of(st.sampled_from(world.flow_ids), _names(128)))
    data: dict[str, Any] = {
        "flowId": flow,
        "tasks": draw(st.integers(min_value=0, max_value=10**9)),
    }
    if draw(st.booleans()):
        data["flowName"] = draw(_names(256))
    if draw(st.booleans()):
        project = {"id": draw(_names(128)), "name": draw(_names(256))}
        for extra in ("icon", "color"):
            if draw(st.booleans()):
                project[extra] = draw(_names(256))
        data["project"] = project
    return data


def _credit(draw: Draw, world: World) -> dict[str, Any]:
    resource = draw(st.sampled_from(["ai_automation", "assistant"]))
    # Up to 10^4 credits an event: even at TALLYBOARD_TEST_FUZZ_SCALE=10 their sum stays
    # far below an organization's monthly ceiling (10^8 credits, docs/ingest.md), so a
    # fresh valid event is always accepted. The largest amount (10^6) and the ceiling
    # have a suite of their own, run last (ingest_cases.py).
    credits = st.one_of(
        st.integers(min_value=0, max_value=10**4),
        st.decimals(min_value=0, max_value=10**4, places=6).map(float),
    )
    data: dict[str, Any] = {"resource": resource, "credits": draw(credits)}
    if resource == "ai_automation" or draw(st.booleans()):
        data["agentId"] = draw(st.one_of(st.sampled_from(world.agent_ids), _names(128)))
    if draw(st.booleans()):
        data["agentName"] = draw(_names(256))
    return data


@st.composite
def fresh_event(draw: Draw, world: World, lane: Lane, ids: itertools.count[int]) -> Item:
    """A valid event never sent before: accepted, unless its organization is refused."""
    kind = draw(st.sampled_from(["api.call", "integration.task", "ai.credit"]))
    org: int | None = draw(st.sampled_from([0, 0, 1, 2, None]))
    organization = str(draw(st.uuids())) if org is None else world.org_uuids[org]
    if org == 0 and draw(st.booleans()):
        organization = organization.upper()
    data = {"api.call": _api_call, "integration.task": _task, "ai.credit": _credit}[kind]
    event = {
        "id": f"evt-{world.suffix}-{next(ids)}",
        "source": draw(st.one_of(st.just("fuzz"), _names(128))),
        "type": kind,
        "time": _valid_time(draw, lane),
        "organization": organization,
        "data": data(draw, world),
    }
    if draw(st.integers(min_value=0, max_value=9)) == 0:
        event["note"] = draw(hostile_json(surrogates=False))  # unknown fields are ignored
    return Item(event, lane.refusal(org) or ACCEPTED, f"valid {kind}")


@st.composite
def stored_event(draw: Draw, world: World, lane: Lane) -> Item:
    """A replay of an event stored at seeding: a duplicate as is, a conflict if changed."""
    index = draw(st.integers(min_value=0, max_value=len(world.stored_events) - 1))
    event = copy.deepcopy(world.stored_events[index])
    org = world.org_uuids.index(event["organization"])
    if draw(st.booleans()):
        return Item(event, lane.refusal(org) or "duplicate", "replay")
    data = event["data"]
    field = next(f for f in ("count", "tasks", "credits") if f in data)
    data[field] += 1
    return Item(event, lane.refusal(org) or "CONFLICT", "changed replay")


MUTATIONS = (
    "missing field",
    "wrong type",
    "out of range",
    "too long",
    "malformed time",
    "overflowing time",
    "odd time",
    "far time",
    "control character",
    "hostile value",
    "not an object",
    "bad organization",
    "bad type",
)
_NAME_FIELDS = (
    ("id",),
    ("source",),
    ("data", "tokenName"),
    ("data", "operationName"),
    ("data", "flowId"),
    ("data", "flowName"),
    ("data", "agentId"),
    ("data", "agentName"),
)
_NUMBERS = (("data", "status"), ("data", "count"), ("data", "tasks"), ("data", "credits"))
_LIMITS = {"id": 128, "source": 128, "flowId": 128, "agentId": 128, "tokenName": 256}
_LIMITED = (("id",), ("source",), ("data", "flowId"), ("data", "agentId"), ("data", "tokenName"))


def _set(event: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    if len(path) == 1:
        event[path[0]] = value
    else:
        event["data"][path[1]] = value


def _present(
    draw: Draw, event: dict[str, Any], paths: tuple[tuple[str, ...], ...]
) -> tuple[str, ...]:
    """One of ``paths`` that the event has (``id`` and ``source`` it always has)."""
    data = event["data"]
    path: tuple[str, ...] = draw(st.sampled_from([p for p in paths if len(p) == 1 or p[1] in data]))
    return path


_OUT_OF_RANGE: dict[str, list[float]] = {
    "status": [99, 600, 10**20, -200],
    "count": [0, -1, 10**9 + 1, 2**64],
    "tasks": [-1, 10**9 + 1, 2**64, 1.5],
    "credits": [-0.000001, 1e-7, 10**6 + 1, 1_000_000.000001, 10**12 + 1, -1],
}
_RANGED: dict[str, list[str]] = {
    "api.call": ["status", "count"],
    "integration.task": ["tasks"],
    "ai.credit": ["credits"],
}


def _out_of_range(draw: Draw, event: dict[str, Any]) -> None:
    field = draw(st.sampled_from(_RANGED[event["type"]]))
    event["data"][field] = draw(st.sampled_from(_OUT_OF_RANGE[field]))


def _mutate(draw: Draw, how: str, event: dict[str, Any], world: World) -> str:
    """Break ``event`` the way ``how`` names; the outcome that implies."""
    if how == "missing field":
        del event[draw(st.sampled_from(["id", "source", "type", "time", "organization", "data"]))]
    elif how == "wrong type":
        field = draw(st.sampled_from(["id", "source", "type", "time", "organization", "data"]))
        event[field] = draw(
            st.one_of(st.booleans(), st.integers(), st.lists(st.integers(), max_size=2))
        )
    elif how == "out of range":
        _out_of_range(draw, event)
    elif how == "too long":
        path = _present(draw, event, _LIMITED)
        _set(event, path, "y" * (_LIMITS[path[-1]] + 1))
    elif how in ("malformed time", "overflowing time", "odd time", "far time"):
        return _retime(draw, how, event)
    elif how == "control character":
        # Issue 11, item 5: identifiers and names refuse control characters (and NUL).
        char = draw(st.sampled_from(["\x00", "\x01", "\t", "\n", "\x1b", "\x7f"]))
        _set(event, _present(draw, event, _NAME_FIELDS), f"a{char}b")
    elif how == "hostile value":
        fields = (*_NAME_FIELDS, *_NUMBERS)
        _set(event, _present(draw, event, fields), draw(hostile_json()))
        return ANY
    elif how == "bad organization":
        uuid = world.org_uuids[0]
        event["organization"] = draw(
            st.sampled_from(
                ["not-a-uuid", uuid.replace("-", ""), "{" + uuid + "}", "", world.org_ids[0]]
            )
        )
    else:
        event["type"] = draw(
            st.sampled_from(["api.calls", "API.CALL", "", "ai.credits", "integration"])
        )
    return INVALID


def _retime(draw: Draw, how: str, event: dict[str, Any]) -> str:
    times = {
        "malformed time": [
            "2026-11-21T10:15:00",
            "2026-13-01T00:00:00Z",
            "",
            "yesterday",
            "2026-11-21",
        ],
        # Issue 11, item 4: one such event must be one INVALID_EVENT, the rest stored.
        "overflowing time": ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59"],
        "odd time": [
            "2026-11-21T10:15:60Z",
            "2026-11-21t10:15:00z",
            "0000-01-01T00:00:00Z",
            "2026-11-21T10:15:00.1234567Z",
        ],
        "far time": ["1970-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2000-02-29T12:00:00+05:30"],
    }[how]
    event["time"] = draw(st.sampled_from(times))
    return {"odd time": ANY, "far time": "OUT_OF_WINDOW"}.get(how, INVALID)


@st.composite
def broken_event(draw: Draw, world: World, lane: Lane, ids: itertools.count[int], how: str) -> Item:
    """A fresh event with one thing wrong (or odd) in the way ``how`` names, and what
    must become of it."""
    if how == "not an object":
        value = draw(
            st.one_of(st.none(), st.integers(), hostile_text(), st.lists(st.integers(), max_size=3))
        )
        return Item(value, INVALID, how)
    base = draw(fresh_event(world, lane, ids))
    event = copy.deepcopy(base.value)
    expect = _mutate(draw, how, event, world)
    if expect == "OUT_OF_WINDOW" and base.expect != ACCEPTED:
        expect = base.expect  # refused for its organization before its time is looked at
    return Item(event, expect, how)
