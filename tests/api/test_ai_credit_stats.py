"""``aiCreditUsageStats`` and ``aiCreditUsageStatsCombined`` over HTTP (spec §4).

Usage is seeded only as spec §5 events (``record_events``), month by month with the
server's clock moved along (events must be inside the live window), and every
expected figure is computed here from those same events with exact decimals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.support.harness import Harness
from tests.support.usage import ai_credit, record_events

SINGLE = """
query Single($org: ID!, $period: PeriodFilter!) {
  aiCreditUsageStats(organizationUuid: $org, period: $period) {
    active usage limit hasAddon filterDate { from to } updatedAt
    aiAutomation { usage enabled } assistants { usage enabled } freeAiCredit { limit usage }
  }
}"""

COMBINED = """
query Combined($orgs: [ID!]!, $period: PeriodFilter!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit aiAutomationUsage assistantsUsage }
    byOrganization {
      organizationUuid organizationName usage limit hasAddon
      aiAutomation { usage enabled } assistants { usage enabled }
    }
    topAgents { agentId agentName organizationUuid organizationName creditsProcessed }
    filterDate { from to }
    partial
  }
}"""

SEP, OCT, NOV = "2026-09", "2026-10", "2026-11"
MONTHS = {"current_month": [NOV], "last_month": [OCT], "last_3_months": [SEP, OCT, NOV]}
BOUNDS = {
    "current_month": ("2026-11-01T00:00:00Z", "2026-11-30T23:59:59Z"),
    "last_month": ("2026-10-01T00:00:00Z", "2026-10-31T23:59:59Z"),
    "last_3_months": ("2026-09-01T00:00:00Z", "2026-11-30T23:59:59Z"),
}
NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Org:
    key: str
    name: str
    id: str = field(default_factory=lambda: str(uuid.uuid4().int % 10**9))
    uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    # month -> (limit, addon, free, automation enabled, assistants enabled), as in effect
    settings: dict[str, tuple[Decimal | None, bool, Decimal | None, bool, bool]] = field(
        default_factory=dict
    )
    agent_names: dict[str, str | None] = field(default_factory=dict)


@dataclass
class World:
    harness: Harness
    orgs: dict[str, Org]
    boss: str
    """A user: super_admin in A and B, admin in C, member in D."""
    analyst: str
    """A service account with the admin role in A."""
    events: list[tuple[str, str, str, str, Decimal]] = field(default_factory=list)
    """(org key, month, resource, agent id, credits)."""

    def record(self, events: list[tuple[str, str, str | None, float]]) -> None:
        """(org key, ISO time, agent id or None for an assistant, credits)."""
        wire = []
        for org_key, time_text, agent, credits in events:
            org = self.orgs[org_key]
            name = org.agent_names.get(agent) if agent else None
            wire.append(
                ai_credit(org.uuid, at(time_text), credits, agent_id=agent, agent_name=name)
            )
            resource = "ai_automation" if agent else "assistant"
            self.events.append(
                (org_key, time_text[:7], resource, agent or "", Decimal(str(credits)))
            )
        result = record_events(self.harness, wire)
        assert result == {"accepted": len(wire), "duplicates": 0, "rejected": []}


def num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def spent(world: World, org_key: str, months: list[str], resource: str) -> Decimal:
    return sum(
        (c for o, m, r, _, c in world.events if o == org_key and m in months and r == resource),
        Decimal(0),
    )


def expected_org(world: World, org_key: str, period: str) -> dict[str, Any]:
    org, months = world.orgs[org_key], MONTHS[period]
    limits = [v for m in months if (v := org.settings[m][0]) is not None]
    _, addon, free, automation_on, assistants_on = org.settings[months[-1]]
    automation = spent(world, org_key, months, "ai_automation")
    assistants = spent(world, org_key, months, "assistant")
    return {
        "usage": automation + assistants,
        "limit": sum(limits, Decimal(0)) if limits else None,
        "hasAddon": addon,
        "free": free,
        "aiAutomation": {"usage": float(automation), "enabled": automation_on},
        "assistants": {"usage": float(assistants), "enabled": assistants_on},
    }


def expected_single(world: World, org_key: str, period: str) -> dict[str, Any]:
    e = expected_org(world, org_key, period)
    return {
        "active": e["aiAutomation"]["enabled"] or e["assistants"]["enabled"],
        "usage": float(e["usage"]),
        "limit": num(e["limit"]),
        "hasAddon": e["hasAddon"],
        "filterDate": dict(zip(("from", "to"), BOUNDS[period], strict=True)),
        "updatedAt": world.harness.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aiAutomation": e["aiAutomation"],
        "assistants": e["assistants"],
        "freeAiCredit": None
        if e["free"] is None
        else {"limit": float(e["free"]), "usage": float(min(e["usage"], e["free"]))},
    }


def expected_combined(
    world: World, org_keys: list[str], period: str, partial: bool
) -> dict[str, Any]:
    months = MONTHS[period]
    rows, limits = [], []
    usage = automation = assistants = Decimal(0)
    for key in org_keys:
        org, e = world.orgs[key], expected_org(world, key, period)
        rows.append(
            {
                "organizationUuid": org.uuid,
                "organizationName": org.name,
                "usage": float(e["usage"]),
                "limit": num(e["limit"]),
                "hasAddon": e["hasAddon"],
                "aiAutomation": e["aiAutomation"],
                "assistants": e["assistants"],
            }
        )
        usage += e["usage"]
        automation += spent(world, key, months, "ai_automation")
        assistants += spent(world, key, months, "assistant")
        if e["limit"] is not None:
            limits.append(e["limit"])
    per_agent: dict[tuple[str, str], Decimal] = {}
    for o, m, r, agent, credits in world.events:
        if o in org_keys and m in months and r == "ai_automation":
            per_agent[(o, agent)] = per_agent.get((o, agent), Decimal(0)) + credits
    ranked = sorted(
        per_agent.items(), key=lambda item: (-item[1], item[0][1], world.orgs[item[0][0]].uuid)
    )[:10]
    top = [
        {
            "agentId": agent,
            "agentName": world.orgs[o].agent_names.get(agent),
            "organizationUuid": world.orgs[o].uuid,
            "organizationName": world.orgs[o].name,
            "creditsProcessed": float(credits),
        }
        for (o, agent), credits in ranked
    ]
    return {
        "total": {
            "usage": float(usage),
            "limit": float(sum(limits, Decimal(0))) if limits else None,
            "aiAutomationUsage": float(automation),
            "assistantsUsage": float(assistants),
        },
        "byOrganization": rows,
        "topAgents": top,
        "filterDate": dict(zip(("from", "to"), BOUNDS[period], strict=True)),
        "partial": partial,
    }


@pytest.fixture
def world(any_harness: Harness) -> World:
    h = any_harness
    suffix = uuid.uuid4().hex[:6]
    a = Org("A", f"Acme {suffix}")
    b = Org("B", f"Globex {suffix}")
    c = Org("C", f"Initech {suffix}")
    d = Org("D", f"Hooli {suffix}")
    # What the settings entries below put in effect, month by month.
    a.settings = {
        SEP: (Decimal(500), True, Decimal(200), True, False),
        OCT: (Decimal(500), True, Decimal("1.5"), True, True),
        NOV: (Decimal("300.5"), True, None, True, False),
    }
    b.settings = dict.fromkeys((SEP, OCT, NOV), (None, False, None, False, True))
    c.settings = dict.fromkeys((SEP, OCT, NOV), (Decimal(100), False, None, False, False))
    d.settings = dict.fromkeys((SEP, OCT, NOV), (None, False, None, False, False))
    a.agent_names = {"agt-1": "Invoice Processor", "agt-2": None, "agt-ev": "Event Agent"}
    a.agent_names.update({f"a-{i:02d}": f"Helper {i}" for i in range(1, 10)})
    b.agent_names = {"agt-b1": "Onboarding", "agt-1": "Same Id Elsewhere"}
    c.agent_names = {"agt-c1": "Clerk"}
    d.agent_names = {"agt-d": "Secret Agent"}
    document = {
        "organizations": [
            {
                "id": a.id,
                "uuid": a.uuid,
                "name": a.name,
                "settings": [
                    {
                        "effectiveFrom": SEP,
                        "allowances": {"aiCredits": 500},
                        "aiCreditAddon": True,
                        "freeAiCredits": 200,
                        "aiAutomationEnabled": True,
                        "assistantsEnabled": False,
                    },
                    {"effectiveFrom": OCT, "assistantsEnabled": True, "freeAiCredits": 1.5},
                    {
                        "effectiveFrom": NOV,
                        "allowances": {"aiCredits": 300.5},
                        "assistantsEnabled": False,
                        "freeAiCredits": None,
                    },
                ],
                "agents": [
                    {"id": "agt-1", "name": "Invoice Processor"},
                    {"id": "agt-2", "name": "Old Bot", "deleted": True},
                ],
            },
            {
                "id": b.id,
                "uuid": b.uuid,
                "name": b.name,
                "settings": [
                    {
                        "effectiveFrom": SEP,
                        "aiAutomationEnabled": False,
                        "assistantsEnabled": True,
                    }
                ],
            },
            {
                "id": c.id,
                "uuid": c.uuid,
                "name": c.name,
                "settings": [{"effectiveFrom": SEP, "allowances": {"aiCredits": 100}}],
            },
            {"id": d.id, "uuid": d.uuid, "name": d.name},
        ],
        "users": [
            {
                "email": f"boss-{suffix}@example.test",
                "name": "Boss",
                "memberships": [
                    {"organization": a.id, "role": "super_admin"},
                    {"organization": b.id, "role": "super_admin"},
                    {"organization": c.id, "role": "admin"},
                    {"organization": d.id, "role": "member"},
                ],
                "personalTokens": [{"name": "laptop", "billingOrganization": a.id}],
            }
        ],
        "serviceAccounts": [
            {
                "organization": a.id,
                "name": f"analyst-{suffix}",
                "role": "admin",
                "tokenLifetime": "30d",
            }
        ],
    }
    secrets = h.apply(document)
    boss = h.personal_tokens(secrets)[f"boss-{suffix}@example.test/laptop"]
    analyst = h.service_account_tokens(secrets)[f"analyst-{suffix}"]
    w = World(h, {"A": a, "B": b, "C": c, "D": d}, boss, analyst)

    h.clock.set(at("2026-09-20T12:00:00"))
    w.record(
        [
            ("A", "2026-09-05T08:00:00", "agt-1", 0.1),
            ("A", "2026-09-06T08:00:00", "agt-1", 0.2),
            ("A", "2026-09-07T08:00:00", None, 10),
            ("A", "2026-09-08T08:00:00", "agt-2", 7.5),
            ("B", "2026-09-10T08:00:00", "agt-b1", 4),
        ]
    )
    h.clock.set(at("2026-10-20T12:00:00"))
    w.record(
        [
            ("A", "2026-10-01T00:00:00", "agt-1", 0.2),
            ("A", "2026-10-15T09:00:00", "agt-ev", 3.25),
            ("C", "2026-10-02T09:00:00", "agt-c1", 1),
        ]
    )
    return w


def seed_november(w: World) -> None:
    # Just after midnight: the last second of October and the first of November.
    w.harness.clock.set(at("2026-11-01T00:01:00"))
    w.record(
        [
            ("A", "2026-10-31T23:59:59", None, 0.7),
            ("A", "2026-11-01T00:00:00", "agt-1", 1.4),
        ]
    )
    w.harness.clock.set(NOW)
    events: list[tuple[str, str, str | None, float]] = [
        ("A", "2026-11-21T10:00:00", None, 250),  # larger than any agent: still not listed
        ("B", "2026-11-03T10:00:00", "agt-b1", 2),
        ("B", "2026-11-04T10:00:00", "agt-1", 1.4),  # ties with A's agt-1: org UUID decides
        ("C", "2026-11-05T10:00:00", None, 5),
        ("D", "2026-11-05T10:00:00", "agt-d", 1000),  # the caller may not see D
    ]
    # Nine helpers in A, two of them tied (agent id decides), to overflow the top 10.
    events += [("A", "2026-11-10T10:00:00", f"a-{i:02d}", 0.5 + i * 0.25) for i in range(1, 9)]
    events.append(("A", "2026-11-10T11:00:00", "a-09", 0.75))  # ties with a-01
    w.record(events)


def graphql(w: World, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    answer = w.harness.graphql(token, query, variables)
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def test_single_organization_every_field_for_every_period(world: World) -> None:
    # At the October clock, last_month is September: a free allotment not yet used up.
    sep = graphql(world, world.boss, SINGLE, {"org": world.orgs["A"].uuid, "period": "last_month"})
    assert sep["aiCreditUsageStats"]["freeAiCredit"] == {"limit": 200.0, "usage": 17.8}
    assert sep["aiCreditUsageStats"]["aiAutomation"]["usage"] == 7.8  # 0.1 + 0.2 + 7.5
    seed_november(world)
    for org_key in ("A", "B"):
        for period in MONTHS:
            org = world.orgs[org_key]
            data = graphql(world, world.boss, SINGLE, {"org": org.uuid, "period": period})
            assert data["aiCreditUsageStats"] == expected_single(world, org_key, period)
    # Spot checks of the rules the model above encodes.
    a = graphql(world, world.boss, SINGLE, {"org": world.orgs["A"].uuid, "period": "last_month"})
    assert a["aiCreditUsageStats"]["freeAiCredit"] == {"limit": 1.5, "usage": 1.5}  # clamped
    assert a["aiCreditUsageStats"]["assistants"]["enabled"] is True  # October's flag
    b = graphql(world, world.boss, SINGLE, {"org": world.orgs["B"].uuid, "period": "current_month"})
    assert b["aiCreditUsageStats"]["limit"] is None
    assert b["aiCreditUsageStats"]["active"] is True  # assistants only


def test_single_organization_is_uncached_and_stamped_with_the_time_it_was_computed(
    world: World,
) -> None:
    org = world.orgs["A"].uuid
    before = graphql(world, world.boss, SINGLE, {"org": org, "period": "current_month"})
    world.record([("A", "2026-10-20T11:00:00", "agt-1", 0.3)])
    world.harness.clock.set(at("2026-10-20T12:00:42"))
    after = graphql(world, world.boss, SINGLE, {"org": org, "period": "current_month"})
    usage_before = before["aiCreditUsageStats"]["usage"]
    assert after["aiCreditUsageStats"]["usage"] == float(
        Decimal(str(usage_before)) + Decimal("0.3")
    )
    assert after["aiCreditUsageStats"]["updatedAt"] == "2026-10-20T12:00:42Z"


def test_single_organization_needs_super_admin_and_hides_unknown_ones(world: World) -> None:
    denied = [
        world.harness.graphql(token, SINGLE, {"org": org, "period": "current_month"})
        for token, org in [
            (world.analyst, world.orgs["A"].uuid),  # admin: usage_stats but not super_admin
            (world.boss, world.orgs["C"].uuid),  # admin there
            (world.boss, world.orgs["D"].uuid),  # member there
            (world.boss, str(uuid.uuid4())),  # unknown
        ]
    ]
    for answer in denied:
        assert answer["data"] == {"aiCreditUsageStats": None}
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "PERMISSION_DENIED"
        assert error["message"] == denied[0]["errors"][0]["message"]
    malformed = world.harness.graphql(world.boss, SINGLE, {"org": "nope", "period": "last_month"})
    assert malformed["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_combined_every_field_for_every_period(world: World) -> None:
    seed_november(world)
    orgs = world.orgs
    requested = [orgs["C"].uuid, str(uuid.uuid4()), orgs["A"].uuid, orgs["D"].uuid]
    requested += [orgs["B"].uuid, orgs["A"].uuid.upper()]  # a duplicate collapses
    for period in MONTHS:
        data = graphql(world, world.boss, COMBINED, {"orgs": requested, "period": period})
        expected = expected_combined(world, ["C", "A", "B"], period, partial=True)
        assert data["aiCreditUsageStatsCombined"] == expected
    current = graphql(world, world.boss, COMBINED, {"orgs": requested, "period": "current_month"})
    top = current["aiCreditUsageStatsCombined"]["topAgents"]
    assert len(top) == 10
    assert all(t["organizationUuid"] != orgs["D"].uuid for t in top)
    # Assistants never appear, however much they used.
    assert {t["agentId"] for t in top} <= set(orgs["A"].agent_names) | set(orgs["B"].agent_names)
    ties = [t for t in top if t["agentId"] == "agt-1"]
    assert [t["organizationUuid"] for t in ties] == sorted([orgs["A"].uuid, orgs["B"].uuid])


def test_combined_limits_exact_sums_and_deleted_agents(world: World) -> None:
    orgs = world.orgs
    # At the October clock, September's agt-1 processed 0.1 + 0.2 credits.
    sep = graphql(world, world.boss, COMBINED, {"orgs": [orgs["A"].uuid], "period": "last_month"})
    combined = sep["aiCreditUsageStatsCombined"]
    by_id = {t["agentId"]: t for t in combined["topAgents"]}
    assert by_id["agt-1"]["creditsProcessed"] == 0.3
    assert by_id["agt-1"]["agentName"] == "Invoice Processor"
    assert by_id["agt-2"]["agentName"] is None  # deleted in the catalog
    assert by_id["agt-2"]["creditsProcessed"] == 7.5
    assert combined["partial"] is False
    # Only organizations without a limit: the total's limit is null, not 0.
    only_b = graphql(
        world, world.boss, COMBINED, {"orgs": [orgs["B"].uuid], "period": "last_month"}
    )
    assert only_b["aiCreditUsageStatsCombined"]["total"]["limit"] is None
    # One with and one without: the sum, null counting as 0.
    both = graphql(
        world,
        world.boss,
        COMBINED,
        {"orgs": [orgs["B"].uuid, orgs["C"].uuid], "period": "last_month"},
    )
    assert both["aiCreditUsageStatsCombined"]["total"]["limit"] == 100.0


def test_combined_drops_what_the_caller_may_not_see(world: World) -> None:
    seed_november(world)
    orgs = world.orgs
    # The analyst (admin in A only) sees A; B, C, D and an unknown UUID drop silently.
    requested = [orgs["B"].uuid, orgs["A"].uuid, orgs["C"].uuid, orgs["D"].uuid, str(uuid.uuid4())]
    data = graphql(world, world.analyst, COMBINED, {"orgs": requested, "period": "last_month"})
    assert data["aiCreditUsageStatsCombined"] == expected_combined(
        world, ["A"], "last_month", partial=True
    )
    # Everything dropped: empty rows, zero usage, null limit, partial -- not an error.
    nothing = graphql(
        world, world.analyst, COMBINED, {"orgs": requested[2:], "period": "last_month"}
    )
    assert nothing["aiCreditUsageStatsCombined"] == {
        "total": {"usage": 0.0, "limit": None, "aiAutomationUsage": 0.0, "assistantsUsage": 0.0},
        "byOrganization": [],
        "topAgents": [],
        "filterDate": {"from": "2026-10-01T00:00:00Z", "to": "2026-10-31T23:59:59Z"},
        "partial": True,
    }


@pytest.mark.parametrize(
    ("orgs", "problem"),
    [
        ([], "at least 1"),
        ([str(uuid.uuid4()) for _ in range(26)], "at most 25"),
        (["8a1c4f10-1111-4d2c-9c2a-abc123def456", "not-a-uuid"], "not a valid UUID"),
    ],
)
def test_combined_refuses_bad_organization_lists(
    any_harness: Harness, orgs: list[str], problem: str
) -> None:
    suffix = uuid.uuid4().hex[:6]
    org_id = str(uuid.uuid4().int % 10**9)
    secrets = any_harness.apply(
        {
            "organizations": [{"id": org_id, "name": f"Solo {suffix}"}],
            "serviceAccounts": [
                {
                    "organization": org_id,
                    "name": f"s-{suffix}",
                    "role": "admin",
                    "tokenLifetime": "30d",
                }
            ],
        }
    )
    token = any_harness.service_account_tokens(secrets)[f"s-{suffix}"]
    answer = any_harness.graphql(token, COMBINED, {"orgs": orgs, "period": "current_month"})
    assert answer["data"] == {"aiCreditUsageStatsCombined": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert problem in error["message"]
