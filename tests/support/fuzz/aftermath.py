"""What must still hold once the fuzz is over: metering works, the log holds no error.

A fuzzed request can do harm that no answer shows: a key the database refuses can poison
the metering flush so that no later call of any organization is counted (issue 11,
item 2), and an exception can be logged while the caller got a clean answer.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import orjson

from tests.support.fuzz.server import ServeProcess, World

__all__ = ["log_problems", "metering_problem"]

CANARY_CALLS = 3
SETTLE_SECONDS = 15.0

_TOTAL = (
    "query FuzzTotal($o: ID!) { apiUsageStats(organizationUuid: $o, period: current_month)"
    " { data { dimension metric } } }"
)


def _total(http: httpx.Client, world: World) -> int:
    """Organization B's API calls this month, read with a credential billed to A."""
    response = http.post(
        "/graphql",
        json={"query": _TOTAL, "variables": {"o": world.org_uuids[1]}},
        headers={"Authorization": f"Bearer {world.tokens['personal']}"},
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["data"]["apiUsageStats"]["data"]
    return int(items[0]["metric"])


def _settled_total(http: httpx.Client, world: World) -> int:
    """B's total once two reads a few flush intervals apart agree (the flusher idle)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last = _total(http, world)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        current = _total(http, world)
        if current == last:
            return current
        last = current
    return last


def metering_problem(http: httpx.Client, world: World) -> str | None:
    """Three billable calls billed to B must show in B's total within the deadline."""
    before = _settled_total(http, world)
    for _ in range(CANARY_CALLS):
        response = http.post(
            "/graphql",
            json={"query": "query FuzzCanary { myUsageStatsOrganizations { id } }"},
            headers={"Authorization": f"Bearer {world.tokens['viewer']}"},
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + SETTLE_SECONDS
    after = _total(http, world)
    while after < before + CANARY_CALLS and time.monotonic() < deadline:
        time.sleep(0.2)
        after = _total(http, world)
    if after == before + CANARY_CALLS:
        return None
    return (
        f"after the fuzz, {CANARY_CALLS} billable calls billed to organization B moved its "
        f"total from {before} to {after} within {SETTLE_SECONDS:.0f} s"
    )


def log_problems(server: ServeProcess) -> list[str]:
    """Distinct records at WARNING or above, and lines that are not JSON records (a
    traceback printed outside the log format), with how often each was seen."""
    seen: dict[str, int] = {}
    for line in server.log_lines():
        text = _problem(line)
        if text is not None:
            seen[text] = seen.get(text, 0) + 1
    return [f"{count}x {text}" for text, count in seen.items()]


def _problem(line: str) -> str | None:
    if not line.strip() or line.startswith("Tallyboard on http"):
        return None
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return f"not a log record: {line[:300]}"
    if not isinstance(record, dict):
        return f"not a log record: {line[:300]}"
    if record.get("level") not in ("warning", "error", "critical"):
        return None
    cause = _exception_line(str(record.get("exc") or ""))
    first_line = str(record.get("error") or "").strip().split("\n")[0]
    error = f" error={first_line[:300]!r}" if first_line else ""
    return f"{record.get('level')} {record.get('logger')}: {record.get('msg')}{cause}{error}"


_RAISED = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Warning|Exit|Interrupt)\b.*$", re.M)


def _exception_line(traceback: str) -> str:
    """The last ``SomeError: message`` line of a logged traceback (a driver may add
    CONTEXT or DETAIL lines after it)."""
    if not traceback.strip():
        return ""
    raised = _RAISED.findall(traceback)
    line = raised[-1] if raised else traceback.strip().splitlines()[-1]
    return f" ({line[:300]})"
