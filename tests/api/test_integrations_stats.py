"""``integrationsUsageStats`` and ``integrationsUsageDetails`` over HTTP (spec §4).

Usage is seeded only as spec §5 ``integration.task`` events through ``record_events``,
month by month with the server's clock moved along; expected figures are computed here
from those events.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.usage import integration_task, record_events

SUMMARY = """
query Summary($org: ID!, $period: PeriodFilter!) {
  integrationsUsageStats(organizationUuid: $org, period: $period) {
    tasksConsumed { usage limit }
    activeFlows
    filterDate { from to }
    history { nodes { date usage limit } }
  }
}"""

DETAILS = """
query Details($org: ID!, $period: PeriodFilter!, $status: String, $search: String,
              $sort: SortCriteria, $first: Int, $after: String) {
  integrationsUsageDetails(organizationUuid: $org, period: $period, status: $status,
                           search: $search, sort: $sort, first: $first, after: $after) {
    totalFlows totalTasks
    edges { cursor node { id name project { name icon color } tasks runs lastRunAt status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    filterDate { from to }
  }
}"""

SEP, OCT, NOV = "2026-09", "2026-10", "2026-11"
MONTHS = {"current_month": [NOV], "last_month": [OCT], "last_3_months": [SEP, OCT, NOV]}
BOUNDS = {
    "current_month": ("2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z"),
    "last_month": ("2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z"),
    "last_3_months": ("2026-09-01T00:00:00Z", "2026-11-30T23:59:59Z"),
}
LIMITS = {SEP: 1000, OCT: 800, NOV: None}  # what the settings below put in effect
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
CATALOG = {
    # id: (name, status, project)
    "f-crm": ("Sync CRM", "ENABLED", {"name": "Sales", "icon": "cart", "color": "blue"}),
    "f-mail": ("Mail digest", "DISABLED", None),
    "f-idle": ("idle Flow", "ENABLED", {"name": "Ops", "icon": "gear", "color": None}),
    # Known from events only (one with names, one without).
    "f-evt": ("Event Flow", "ENABLED", {"name": "Marketing", "icon": "megaphone", "color": None}),
    "f-anon": ("f-anon", "ENABLED", None),
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class World:
    harness: Harness
    org: dict[str, str]
    admin: str
    outsider: str
    """A member of the organization: no usage_stats."""
    runs: list[tuple[str, str, int]] = field(default_factory=list)
    """(flow id, ISO time, tasks)."""

    def record(self, runs: list[tuple[str, str, int]]) -> None:
        events = []
        for flow_id, time_text, tasks in runs:
            extra: dict[str, Any] = {}
            if flow_id == "f-evt":
                project = {"id": "p-mkt", "name": "Marketing", "icon": "megaphone"}
                extra = {"flow_name": "Event Flow", "project": project}
            events.append(
                integration_task(self.org["uuid"], at(time_text), flow_id, tasks, **extra)
            )
        assert record_events(self.harness, events)["accepted"] == len(events)
        self.runs.extend(runs)

    def query(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.harness.graphql(self.admin, query, {"org": self.org["uuid"], **variables})
        assert "errors" not in answer, answer
        result: dict[str, Any] = next(iter(answer["data"].values()))
        return result


def setup_world(h: Harness, extra_flows: list[dict[str, Any]] | None = None) -> World:
    suffix = uuid.uuid4().hex[:6]
    org = {
        "id": str(uuid.uuid4().int % 10**9),
        "uuid": str(uuid.uuid4()),
        "name": f"Flows {suffix}",
    }
    flows = [
        {
            "id": "f-crm",
            "name": "Sync CRM",
            "status": "ENABLED",
            "project": {"id": "p-sales", "name": "Sales", "icon": "cart", "color": "blue"},
        },
        {"id": "f-mail", "name": "Mail digest", "status": "DISABLED"},
        {
            "id": "f-idle",
            "name": "idle Flow",
            "status": "ENABLED",
            "project": {"id": "p-ops", "name": "Ops", "icon": "gear"},
        },
        *(extra_flows or []),
    ]
    secrets = h.apply(
        {
            "organizations": [
                {
                    **org,
                    "settings": [
                        {"effectiveFrom": SEP, "allowances": {"integrationTasks": 1000}},
                        {"effectiveFrom": OCT, "allowances": {"integrationTasks": 800}},
                        {"effectiveFrom": NOV, "allowances": {"integrationTasks": None}},
                    ],
                    "flows": flows,
                }
            ],
            "users": [
                {
                    "email": f"member-{suffix}@example.test",
                    "name": "Member",
                    "memberships": [{"organization": org["id"], "role": "member"}],
                    "personalTokens": [{"name": "t", "billingOrganization": org["id"]}],
                }
            ],
            "serviceAccounts": [
                {
                    "organization": org["id"],
                    "name": f"ops-{suffix}",
                    "role": "admin",
                    "tokenLifetime": "30d",
                }
            ],
        }
    )
    admin = h.service_account_tokens(secrets)[f"ops-{suffix}"]
    outsider = h.personal_tokens(secrets)[f"member-{suffix}@example.test/t"]
    return World(h, org, admin, outsider)


@pytest.fixture
def world(any_harness: Harness) -> World:
    w = setup_world(any_harness)
    any_harness.clock.set(at("2026-09-25T12:00:00"))
    w.record([("f-crm", "2026-09-02T10:00:00", 10), ("f-crm", "2026-09-20T10:00:00", 5)])
    w.record([("f-mail", "2026-09-15T10:00:00", 3)])
    any_harness.clock.set(at("2026-10-25T12:00:00"))
    w.record(
        [
            ("f-crm", "2026-10-01T00:00:00", 7),
            ("f-evt", "2026-10-10T10:00:00", 4),
            ("f-anon", "2026-10-11T10:00:00", 0),  # a run that consumed no task
        ]
    )
    any_harness.clock.set(at("2026-11-01T00:01:00"))
    w.record([("f-mail", "2026-10-31T23:59:59", 2), ("f-crm", "2026-11-01T00:00:00", 1)])
    any_harness.clock.set(NOW)
    w.record(
        [
            ("f-crm", "2026-11-21T09:00:00", 20),
            ("f-evt", "2026-11-05T10:00:00", 20),
            ("f-mail", "2026-11-03T10:00:00", 6),
            ("f-anon", "2026-11-04T10:00:00", 2),
        ]
    )
    return w


# ------------------------------------------------------------------ the model


def in_months(w: World, months: list[str]) -> list[tuple[str, str, int]]:
    return [run for run in w.runs if run[1][:7] in months]


def expected_summary(w: World, period: str, today: date) -> dict[str, Any]:
    months = MONTHS[period]
    runs = in_months(w, months)
    limits = [LIMITS[m] for m in months if LIMITS[m] is not None]
    if period == "last_3_months":
        by_month: dict[str, int] = defaultdict(int)
        for _, time_text, tasks in runs:
            by_month[time_text[:7]] += tasks
        nodes = [{"date": m, "usage": by_month[m], "limit": LIMITS[m]} for m in months]
    else:
        by_day: dict[str, int] = defaultdict(int)
        for _, time_text, tasks in runs:
            by_day[time_text[:10]] += tasks
        day = date.fromisoformat(months[0] + "-01")
        nodes = []
        while day.isoformat()[:7] == months[0] and day <= today:
            nodes.append(
                {
                    "date": day.isoformat(),
                    "usage": by_day[day.isoformat()],
                    "limit": LIMITS[months[0]],
                }
            )
            day += timedelta(days=1)
    return {
        "tasksConsumed": {
            "usage": sum(r[2] for r in runs),
            "limit": sum(limits) if limits else None,
        },
        "activeFlows": len({r[0] for r in runs}),
        "filterDate": dict(zip(("from", "to"), BOUNDS[period], strict=True)),
        "history": {"nodes": nodes},
    }


def expected_node(w: World, flow_id: str, period: str) -> dict[str, Any]:
    runs = [r for r in in_months(w, MONTHS[period]) if r[0] == flow_id]
    name, status, project = CATALOG[flow_id]
    return {
        "id": flow_id,
        "name": name,
        "project": project,
        "tasks": sum(r[2] for r in runs),
        "runs": len(runs),
        "lastRunAt": max(r[1] for r in runs) + "Z" if runs else None,
        "status": status,
    }


def ids(details: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in details["edges"]]


# ------------------------------------------------------------------ summary


def test_summary_every_field_for_every_period(world: World) -> None:
    for period in MONTHS:
        summary = world.query(SUMMARY, period=period)
        assert summary == expected_summary(world, period, NOW.date())
    current = world.query(SUMMARY, period="current_month")
    assert len(current["history"]["nodes"]) == 21  # zero-filled up to today, no further
    assert current["activeFlows"] == 4 and current["tasksConsumed"]["limit"] is None
    assert world.query(SUMMARY, period="last_3_months")["tasksConsumed"]["limit"] == 1800


def test_summary_follows_the_clock_into_a_new_month(world: World) -> None:
    world.harness.clock.set(at("2026-12-01T00:00:05"))
    current = world.query(SUMMARY, period="current_month")
    assert current == {
        "tasksConsumed": {"usage": 0, "limit": None},
        "activeFlows": 0,
        "filterDate": {"from": "2026-12-01T00:00:00Z", "to": "2026-12-31T23:59:59Z"},
        "history": {"nodes": [{"date": "2026-12-01", "usage": 0, "limit": None}]},
    }
    last = world.query(SUMMARY, period="last_month")
    assert last["tasksConsumed"]["usage"] == sum(r[2] for r in in_months(world, [NOV]))
    assert len(last["history"]["nodes"]) == 30
    three = world.query(SUMMARY, period="last_3_months")
    assert [n["date"] for n in three["history"]["nodes"]] == [OCT, NOV, "2026-12"]


# ------------------------------------------------------------------ details


def test_details_every_field_for_every_period(world: World) -> None:
    for period in MONTHS:
        details = world.query(DETAILS, period=period, first=100)
        nodes = [expected_node(world, flow_id, period) for flow_id in CATALOG]
        nodes.sort(key=lambda n: n["id"])
        nodes.sort(key=lambda n: n["tasks"], reverse=True)
        assert [e["node"] for e in details["edges"]] == nodes
        assert details["totalFlows"] == len(CATALOG)
        assert details["totalTasks"] == sum(r[2] for r in in_months(world, MONTHS[period]))
        cursors = [e["cursor"] for e in details["edges"]]
        assert len(set(cursors)) == len(cursors)
        assert details["pageInfo"] == {
            "hasNextPage": False,
            "hasPreviousPage": False,
            "startCursor": cursors[0],
            "endCursor": cursors[-1],
        }
        assert details["filterDate"] == dict(zip(("from", "to"), BOUNDS[period], strict=True))
    # Ties (zero usage in October) are broken by id, in both directions.
    october = world.query(DETAILS, period="last_month")
    assert ids(october) == ["f-crm", "f-evt", "f-mail", "f-anon", "f-idle"]
    ascending = world.query(DETAILS, period="last_month", sort={"by": "usage", "order": "asc"})
    assert ids(ascending) == ["f-anon", "f-idle", "f-mail", "f-evt", "f-crm"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({}, ["f-crm", "f-evt", "f-mail", "f-anon", "f-idle"]),
        (
            {"sort": {"by": "usage", "order": "asc"}},
            ["f-idle", "f-anon", "f-mail", "f-evt", "f-crm"],
        ),
        (
            {"sort": {"by": "name", "order": "asc"}},
            ["f-evt", "f-anon", "f-idle", "f-mail", "f-crm"],
        ),
        (
            {"sort": {"by": "NAME", "order": "DESC"}},
            ["f-crm", "f-mail", "f-idle", "f-anon", "f-evt"],
        ),
        (
            {"sort": {"by": "status", "order": "asc"}},
            ["f-mail", "f-anon", "f-crm", "f-evt", "f-idle"],
        ),
        (
            {"sort": {"by": "status", "order": "desc"}},
            ["f-anon", "f-crm", "f-evt", "f-idle", "f-mail"],
        ),
        (
            {"sort": {"by": "bogus", "order": "asc"}},
            ["f-crm", "f-evt", "f-mail", "f-anon", "f-idle"],
        ),
        ({"status": "disabled"}, ["f-mail"]),
        ({"status": "Enabled", "search": "FLOW"}, ["f-evt", "f-idle"]),
        ({"search": "sal"}, ["f-crm"]),  # project name
        ({"search": "MARK", "status": "ENABLED"}, ["f-evt"]),
        ({"search": "i", "sort": {"by": "name", "order": "asc"}}, ["f-evt", "f-idle", "f-mail"]),
        ({"status": "DISABLED", "search": "sync"}, []),
    ],
)
def test_details_filters_and_sorts(
    world: World, arguments: dict[str, Any], expected: list[str]
) -> None:
    details = world.query(DETAILS, period="current_month", **arguments)
    assert ids(details) == expected
    assert details["totalFlows"] == len(expected)
    expected_tasks = sum(expected_node(world, f, "current_month")["tasks"] for f in expected)
    assert details["totalTasks"] == expected_tasks
    if not expected:
        assert details["pageInfo"]["startCursor"] is None
        assert details["pageInfo"]["endCursor"] is None


def error_of(answer: dict[str, Any]) -> dict[str, Any]:
    assert answer["data"] == {"integrationsUsageDetails": None}
    (error,) = answer["errors"]
    result: dict[str, Any] = error
    return result


def test_details_refuses_bad_arguments_all_at_once(world: World) -> None:
    h, token = world.harness, world.admin
    base = {"org": world.org["uuid"], "period": "current_month"}
    for first in (0, -1, 101):
        error = error_of(h.graphql(token, DETAILS, {**base, "first": first}))
        assert error["extensions"]["code"] == "INVALID_INPUT"
        assert error["extensions"]["problems"][0]["path"] == "first"
    page = world.query(DETAILS, period="current_month", first=2)
    cursor = page["pageInfo"]["endCursor"]
    tampered = [cursor[:-1] + ("A" if cursor[-1] != "A" else "B"), "abc", "", cursor + "x"]
    head, _, mac = cursor.partition(".")
    tampered.append(head[:-2] + ("AA" if head[-2:] != "AA" else "BB") + "." + mac)
    for after in tampered:
        error = error_of(h.graphql(token, DETAILS, {**base, "first": 2, "after": after}))
        assert error["extensions"]["code"] == "INVALID_INPUT"
        assert error["extensions"]["problems"] == [
            {"path": "after", "reason": "is not a cursor issued by this server"}
        ]
    # A genuine cursor, but for a different query (sort changed).
    other = h.graphql(token, DETAILS, {**base, "after": cursor, "sort": {"by": "name"}})
    assert error_of(other)["extensions"]["code"] == "INVALID_INPUT"
    # Every problem is reported in one answer.
    both = error_of(h.graphql(token, DETAILS, {**base, "first": 500, "after": "x", "status": "on"}))
    assert sorted(p["path"] for p in both["extensions"]["problems"]) == ["after", "first", "status"]
    # Every argument is checked before authorization: a bad UUID and a bad ``first``
    # come back together, and an organization the caller may not see does not hide a
    # bad argument behind PERMISSION_DENIED.
    bad = error_of(h.graphql(token, DETAILS, {**base, "org": "nope", "first": 0}))
    assert bad["extensions"]["problems"] == [
        {"path": "organizationUuid", "reason": "'nope' is not a valid UUID"},
        {"path": "first", "reason": "must be between 1 and 100, got 0"},
    ]
    hidden = error_of(h.graphql(world.outsider, DETAILS, {**base, "first": 0}))
    assert hidden["extensions"]["code"] == "INVALID_INPUT"
    # Bounds are inclusive.
    assert len(world.query(DETAILS, period="current_month", first=1)["edges"]) == 1
    assert len(world.query(DETAILS, period="current_month", first=100)["edges"]) == 5


def test_unknown_and_forbidden_organizations_answer_identically(world: World) -> None:
    h = world.harness
    answers = [
        h.graphql(token, query, {"org": org, "period": "current_month"})
        for query in (SUMMARY, DETAILS)
        for token, org in ((world.outsider, world.org["uuid"]), (world.admin, str(uuid.uuid4())))
    ]
    messages = set()
    for answer in answers:
        assert next(iter(answer["data"].values())) is None
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "PERMISSION_DENIED"
        messages.add(error["message"])
    assert len(messages) == 1


def test_pagination_stays_consistent_while_events_arrive(any_harness: Harness) -> None:
    bulk = [
        {"id": f"b-{i:02d}", "name": f"Bulk {i:02d}", "status": "ENABLED" if i % 3 else "DISABLED"}
        for i in range(1, 23)
    ]
    w = setup_world(any_harness, bulk)
    any_harness.clock.set(NOW)
    # Usage 0..6, many ties: the order is (tasks desc, id asc).
    w.record([(f["id"], "2026-11-20T10:00:00", int(f["id"][2:]) % 7) for f in bulk])
    all_ids = {f["id"] for f in bulk} | {"f-crm", "f-mail", "f-idle"}

    # Default page size is 20.
    first_default = w.query(DETAILS, period="current_month")
    assert len(first_default["edges"]) == 20 and first_default["totalFlows"] == 25
    assert first_default["pageInfo"]["hasNextPage"] is True

    for sort in ({"by": "usage", "order": "desc"}, {"by": "name", "order": "asc"}):
        seen: list[str] = []
        changed: set[str] = set()
        page = w.query(DETAILS, period="current_month", first=4, sort=sort)
        assert page["pageInfo"]["hasPreviousPage"] is False
        pages = 1
        while True:
            seen += ids(page)
            if not page["pageInfo"]["hasNextPage"]:
                break
            # Between pages: a flow not yet shown jumps to the top, one already shown
            # gains usage, and a brand-new flow appears (known from events only).
            unseen = sorted(all_ids - set(seen) - changed)
            movers = [unseen[-1], seen[0]] if unseen else [seen[0]]
            new_flow = f"new-{pages:02d}-{uuid.uuid4().hex[:4]}"
            w.record([(m, "2026-11-21T10:00:00", 50 + pages) for m in movers])
            w.record([(new_flow, "2026-11-21T10:00:00", 1)])
            changed.update(movers)
            changed.add(new_flow)
            all_ids.add(new_flow)
            page = w.query(
                DETAILS,
                period="current_month",
                first=4,
                sort=sort,
                after=page["pageInfo"]["endCursor"],
            )
            assert page["pageInfo"]["hasPreviousPage"] is True
            assert page["totalFlows"] == len(all_ids)
            pages += 1
        assert len(seen) == len(set(seen)), "a flow was shown twice"
        unchanged = all_ids - changed
        assert unchanged <= set(seen), f"unchanged flows skipped: {sorted(unchanged - set(seen))}"
        assert pages >= 6


def test_a_flow_listing_is_reused_only_while_nothing_it_shows_changed(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Searches and name orders read every flow; the listing is kept per organization
    and months and reused exactly while the organization's integration version and the
    tenancy generation are unchanged (decision 0010)."""
    from tallyboard.storage import integration_reader

    reads: list[int] = []
    real = integration_reader.flow_records

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(integration_reader, "flow_records", counting)
    by_name = {"by": "name", "order": "asc"}

    first = world.query(DETAILS, period="current_month", sort=by_name)
    assert world.query(DETAILS, period="current_month", sort=by_name) == first
    assert world.query(DETAILS, period="current_month", search="SYNC")["totalFlows"] == 1
    by_usage = world.query(DETAILS, period="current_month")  # default order, same listing
    assert len(reads) == 1
    assert ids(by_usage) == ["f-crm", "f-evt", "f-mail", "f-anon", "f-idle"]

    # An ingested run changes the version: the very next request sees it.
    world.record([("f-idle", "2026-11-21T10:00:00", 40)])
    idle = world.query(DETAILS, period="current_month", search="idle")
    assert [(e["node"]["id"], e["node"]["tasks"]) for e in idle["edges"]] == [("f-idle", 40)]
    assert len(reads) == 2
    assert ids(world.query(DETAILS, period="current_month"))[0] == "f-idle"
    assert len(reads) == 2
    # A different period is a different listing.
    world.query(DETAILS, period="last_month", sort=by_name)
    assert len(reads) == 3

    # admin apply changes the tenancy generation: a renamed, disabled flow shows at once.
    world.harness.apply(
        {
            "organizations": [
                {
                    **world.org,
                    "flows": [{"id": "f-idle", "name": "Renamed Flow", "status": "DISABLED"}],
                }
            ]
        }
    )
    renamed = world.query(DETAILS, period="current_month", search="renamed")
    assert [(e["node"]["name"], e["node"]["status"]) for e in renamed["edges"]] == [
        ("Renamed Flow", "DISABLED")
    ]
    assert len(reads) == 4
