"""Hostile or careless events over HTTP, on both engines: one bad event is one
rejection naming its field, and the rest of the batch is stored (issue 11 items 4, 5)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.events import ai_credit, api_call, rollup_snapshot, task_run
from tests.support.harness import DEFAULT_NOW as NOW
from tests.support.harness import Harness
from tests.support.tenant import Tenant

RANGE = "time: must lie within the years 0001 to 9999 once converted to UTC"


def rejections(result: dict[str, Any]) -> list[tuple[int, str, str]]:
    return [(r["index"], r["code"], r["message"]) for r in result["rejected"]]


@pytest.mark.parametrize("backfill", [False, True], ids=["live", "backfill"])
def test_an_overflowing_time_is_one_rejection_and_the_rest_is_stored(
    any_harness: Harness, backfill: bool
) -> None:
    tenant = Tenant(any_harness)
    events = [
        {**api_call(tenant.org, NOW), "time": "9999-12-31T23:59:59-23:59"},
        api_call(tenant.org, NOW, count=3),
        {**task_run(tenant.org, NOW), "time": "0001-01-01T00:00:00+23:59"},
        {**ai_credit(tenant.org, NOW), "time": "2016-12-31T23:59:60Z"},  # a leap second
    ]
    if backfill:
        response = any_harness.http.post(
            "/v1/admin/backfill",
            content=orjson.dumps(events),
            headers={"Authorization": f"Bearer {any_harness.admin_token}"},
        )
        assert response.status_code == 200, response.text
        result = response.json()
        assert result["accepted"] == 1
        assert rejections(result) == [
            (0, "INVALID_EVENT", RANGE),
            (2, "INVALID_EVENT", RANGE),
            (3, "OUT_OF_WINDOW", result["rejected"][2]["message"]),
        ]
        assert (
            "2016-12-31T23:59:59.999Z is older than the retention horizon"
            in (result["rejected"][2]["message"])
        )
    else:
        result = tenant.send(events, ndjson=True)
        assert result["accepted"] == 1
        assert [r[:2] for r in rejections(result)] == [
            (0, "INVALID_EVENT"),
            (2, "INVALID_EVENT"),
            (3, "OUT_OF_WINDOW"),
        ]
        assert result["rejected"][0]["message"] == RANGE
    assert rollup_snapshot(any_harness.database_url, tenant.org).total_calls() == 3


_BAD = "a\x00b"


@pytest.mark.parametrize(
    ("event", "field", "found"),
    [
        (lambda o: {**api_call(o, NOW), "id": _BAD}, "id", "U+0000"),
        (lambda o: {**api_call(o, NOW), "source": "gw\x1b[31m"}, "source", "U+001B"),
        (lambda o: api_call(o, NOW, label=_BAD), "data.tokenName", "U+0000"),
        (lambda o: api_call(o, NOW, operation="Get\x7fCards"), "data.operationName", "U+007F"),
        (lambda o: task_run(o, NOW, flow="f\x00"), "data.flowId", "U+0000"),
        (lambda o: task_run(o, NOW, flow_name="Sync\nCRM"), "data.flowName", "U+000A"),
        (
            lambda o: task_run(o, NOW, project={"id": "p\x00", "name": "Sales"}),
            "data.project.id",
            "U+0000",
        ),
        (
            lambda o: task_run(o, NOW, project={"id": "p", "name": "Sa\x85les"}),
            "data.project.name",
            "U+0085",
        ),
        (
            lambda o: task_run(o, NOW, project={"id": "p", "name": "S", "icon": "\x00"}),
            "data.project.icon",
            "U+0000",
        ),
        (
            lambda o: task_run(o, NOW, project={"id": "p", "name": "S", "color": "\t"}),
            "data.project.color",
            "U+0009",
        ),
        (lambda o: ai_credit(o, NOW, agent="agt\x00"), "data.agentId", "U+0000"),
        (lambda o: ai_credit(o, NOW, agent_name="Bot\x00"), "data.agentName", "U+0000"),
    ],
)
def test_control_characters_are_one_rejection_naming_the_field(
    any_harness: Harness, event: Any, field: str, found: str
) -> None:
    tenant = Tenant(any_harness)
    result = tenant.send([event(tenant.org), api_call(tenant.org, NOW, count=2)])
    assert result["accepted"] == 1
    assert rejections(result) == [
        (0, "INVALID_EVENT", f"{field}: must not contain control characters (found {found})")
    ]
    snapshot = rollup_snapshot(any_harness.database_url, tenant.org)
    assert snapshot.total_calls() == 2 and snapshot.raw_events == 1
