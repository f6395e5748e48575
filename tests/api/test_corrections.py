"""``POST /v1/admin/corrections`` (section 11): voids and signed adjustments, exactly
once, each judged alone, the applied ones in one transaction with the rollups."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.support.corrections import adjust, correct, usage_only, void
from tests.support.events import (
    ai_credit,
    api_call,
    iso,
    rollup_snapshot,
    task_run,
)
from tests.support.harness import DEFAULT_NOW, Harness
from tests.support.tenant import Tenant

NOW = DEFAULT_NOW


def _events(org: str) -> list[dict[str, Any]]:
    day = NOW - timedelta(days=2)
    return [
        api_call(org, day, event_id="a1", operation="GetCards", count=3),
        api_call(org, day, event_id="a2", operation="Rare", label="other-token", count=2),
        task_run(org, day, event_id="t1", flow="f1", tasks=4),
        task_run(org, day + timedelta(hours=3), event_id="t2", flow="f1", tasks=5),
        task_run(org, day + timedelta(hours=1), event_id="t3", flow="lonely", tasks=1),
        ai_credit(org, day, event_id="c1", credits=2.5),
        ai_credit(org, day, event_id="c2", agent="agt-2", credits=1),
    ]


def test_a_void_counts_as_if_the_event_had_never_been_accepted(any_harness: Harness) -> None:
    harness = any_harness
    tenant = Tenant(harness, orgs=2)
    voided_org, reference_org = tenant.orgs
    events = _events(voided_org)
    assert tenant.send(events)["accepted"] == 7
    kept = [e for e in events if e["id"] not in {"a2", "t2", "t3", "c2"}]
    assert tenant.send([{**e, "organization": reference_org} for e in kept])["accepted"] == 3

    gone = [e for e in events if e["id"] in {"a2", "t2", "t3", "c2"}]
    result = correct(harness, [void(voided_org, e) for e in gone])
    assert result == {"applied": 4, "unchanged": 0, "rejected": []}
    after = rollup_snapshot(harness.database_url, voided_org)
    assert usage_only(after) == usage_only(rollup_snapshot(harness.database_url, reference_org))
    assert all(key[1] != "lonely" for key in after.flows_monthly)  # no longer listed

    again = correct(harness, [void(voided_org, gone[0])])
    assert again == {"applied": 0, "unchanged": 1, "rejected": []}
    # A voided event sent again is a duplicate: it counts nothing.
    assert tenant.send([gone[0]]) == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert usage_only(rollup_snapshot(harness.database_url, voided_org)) == usage_only(after)


def test_adjustments_count_amounts_only_exactly_once(any_harness: Harness) -> None:
    harness = any_harness
    tenant = Tenant(harness)
    org = tenant.org
    tenant.send([task_run(org, NOW - timedelta(days=1), event_id="t1", flow="f1", tasks=10)])
    before = rollup_snapshot(harness.database_url, org)
    entries = [
        adjust(org, "adj-1", "integration.task", {"flowId": "f1", "tasks": -4}),
        adjust(org, "adj-2", "integration.task", {"flowId": "new-flow", "tasks": 7}),
        adjust(org, "adj-3", "api.call", {"tokenName": "self-metered", "count": 5}),
        adjust(org, "adj-4", "ai.credit", {"resource": "assistant", "credits": 1.5}),
    ]
    assert correct(harness, entries) == {"applied": 4, "unchanged": 0, "rejected": []}
    after = rollup_snapshot(harness.database_url, org)
    day = (NOW - timedelta(days=1)).date().isoformat()
    (_, _, last) = before.flows[(day, "f1")]
    assert after.flows[(day, "f1")] == (6, 1, last)  # tasks, not runs
    assert after.flows[(day, "new-flow")] == (7, 0, 0)  # known, never ran
    assert after.total_runs() == 1 and after.total_tasks() == 13
    assert after.total_calls() == 5
    assert after.total_micro_credits() == 1_500_000

    replay = correct(harness, entries)
    assert replay == {"applied": 0, "unchanged": 4, "rejected": []}
    assert rollup_snapshot(harness.database_url, org) == after
    changed = adjust(org, "adj-1", "integration.task", {"flowId": "f1", "tasks": -3})
    conflict = correct(harness, [changed])
    assert [(r["index"], r["id"], r["code"]) for r in conflict["rejected"]] == [
        (0, "adj-1", "CONFLICT")
    ]


def test_negative_usage_changes_nothing_and_leaves_the_id_unused(any_harness: Harness) -> None:
    harness = any_harness
    tenant = Tenant(harness)
    org = tenant.org
    tenant.send([api_call(org, NOW - timedelta(days=1), event_id="a1", count=3)])
    before = rollup_snapshot(harness.database_url, org)
    too_much = adjust(org, "neg", "api.call", {"tokenName": "gateway-bot", "count": -4})
    other_token = adjust(org, "neg2", "api.call", {"tokenName": "nobody", "count": -1})
    result = correct(harness, [too_much, other_token])
    assert [(r["index"], r["code"]) for r in result["rejected"]] == [
        (0, "NEGATIVE_USAGE"),
        (1, "NEGATIVE_USAGE"),
    ]
    assert "data.count" in result["rejected"][0]["message"]
    assert rollup_snapshot(harness.database_url, org) == before
    # Per dimension: the calls were made as GetCards, not under "Not specified".
    unnamed = adjust(org, "neg", "api.call", {"tokenName": "gateway-bot", "count": -3})
    assert correct(harness, [unnamed])["rejected"][0]["code"] == "NEGATIVE_USAGE"
    data = {"tokenName": "gateway-bot", "operationName": "GetCards", "count": -3}
    fits = adjust(org, "neg", "api.call", data)
    assert correct(harness, [fits])["applied"] == 1
    assert rollup_snapshot(harness.database_url, org).total_calls() == 0


def test_every_invalid_correction_is_rejected_with_its_index_and_field(
    harness: Harness,
) -> None:
    tenant = Tenant(harness)
    org = tenant.org
    old = iso(NOW - timedelta(days=500))
    entries: list[Any] = [
        "not an object",
        {"action": "erase", "id": "x"},
        {"action": "void", "organization": org, "source": "s", "id": "x"},
        {"action": "void", "organization": "nope", "source": "s", "id": "x", "reason": "r"},
        {**void(org, {"source": "s", "id": "x"}), "reason": "r" * 501},
        adjust(org, "a", "api.call", {"tokenName": "t", "count": "many"}),
        adjust(org, "b", "bogus", {}),
        adjust(org, "c", "ai.credit", {"resource": "assistant", "credits": 1}, time=old),
        void(org, {"source": "s", "id": "missing"}),
        adjust(str(__import__("uuid").uuid4()), "d", "api.call", {"tokenName": "t"}),
    ]
    result = correct(harness, entries)
    rejected = {r["index"]: (r["code"], r["message"]) for r in result["rejected"]}
    assert result["applied"] == 0 and result["unchanged"] == 0
    expected = {
        0: ("INVALID_CORRECTION", "entry"),
        1: ("INVALID_CORRECTION", "action"),
        2: ("INVALID_CORRECTION", "reason"),
        3: ("INVALID_CORRECTION", "organization"),
        4: ("INVALID_CORRECTION", "reason"),
        5: ("INVALID_CORRECTION", "data.count"),
        6: ("INVALID_CORRECTION", "type"),
        7: ("OUT_OF_WINDOW", "time"),
        8: ("NOT_FOUND", "id"),
        9: ("UNKNOWN_ORGANIZATION", "organization"),
    }
    assert {i: code for i, (code, _) in rejected.items()} == {
        i: code for i, (code, _) in expected.items()
    }
    for index, (_, field) in expected.items():
        assert rejected[index][1].startswith(f"{field}:"), rejected[index]
    assert [r["index"] for r in result["rejected"]] == sorted(rejected)


def test_http_conventions_and_credentials(harness: Harness) -> None:
    tenant = Tenant(harness)
    headers = {"Authorization": f"Bearer {harness.admin_token}"}
    assert correct(harness, []) == {"applied": 0, "unchanged": 0, "rejected": []}
    response = harness.http.post("/v1/admin/corrections", content=b"{nope", headers=headers)
    assert response.status_code == 400
    for credential in (None, tenant.key, "tb_adm_nope"):
        sent = {"Authorization": f"Bearer {credential}"} if credential else {}
        response = harness.http.post("/v1/admin/corrections", json=[], headers=sent)
        assert response.status_code == 401


@pytest.mark.parametrize("action", ["correction.void", "correction.adjust"])
def test_each_applied_correction_is_audited_with_its_reason(harness: Harness, action: str) -> None:
    tenant = Tenant(harness)
    org = tenant.org
    event = api_call(org, NOW - timedelta(days=1), event_id="a1")
    tenant.send([event])
    entry = (
        void(org, event, "double counted")
        if action == "correction.void"
        else adjust(org, "x", "api.call", {"tokenName": "t"}, reason="double counted")
    )
    correct(harness, [entry])
    correct(harness, [entry])  # unchanged: not audited again
    audit = harness.http.get(
        "/v1/admin/audit",
        params={"action": action},
        headers={"Authorization": f"Bearer {harness.admin_token}"},
    ).json()["entries"]
    assert len(audit) == 1
    assert audit[0]["organization"] == org
    assert audit[0]["details"]["reason"] == "double counted"
    assert audit[0]["actor"] == {"kind": "admin_token", "name": "tests"}
