"""The API-usage statistics, black-box over real HTTP (spec §3, §4; issue 3 "Done when").

One world per backend: tenancy made with ``admin apply``, then a known mix of named,
unnamed, multi-operation and failing GraphQL requests with several tokens, sent while
the server's clock is moved across months. The test keeps its own log of what the
contract says is billable (a naive model) and checks every field of the four queries
for all three periods at several instants against it, including the instants either
side of a month boundary.

Every statistics query here is sent with a personal token billed to a separate
organization (the "observer"), so asking does not change the answers.
"""

from __future__ import annotations

import calendar
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.backends import PostgresServer, copy_sqlite
from tests.support.harness import LiveServer

NOW = datetime(2026, 11, 21, 10, 30, tzinfo=UTC)
PERIODS = ("current_month", "last_month", "last_3_months")
PING = "{ __typename }"
ORGS = ("A", "B", "C", "D", "E")

# Monthly API-call allowances in effect, as the tenancy document below sets them.
ALLOWANCES: dict[str, dict[tuple[int, int], int | None]] = {
    "A": {(2026, 9): 1000, (2026, 10): 1000, (2026, 11): 2500, (2026, 12): 2500},
    "B": {},
    "C": {(2026, 11): 300, (2026, 12): None},  # unset again from December (explicit null)
}

SINGLE = """query Single($org: ID!, $period: PeriodFilter!) {
  counter: apiUsageStats(organizationUuid: $org, period: $period) {
    data { dimension metric } limit filterDate { from to }
  }
  nullDimension: apiUsageStats(organizationUuid: $org, period: $period, dimension: null) {
    data { dimension metric } limit filterDate { from to }
  }
  operations: apiUsageStats(organizationUuid: $org, period: $period, dimension: operation_name) {
    data { dimension metric } limit filterDate { from to }
  }
  tokens: apiUsageStatsGroupedBy(organizationUuid: $org, period: $period, dimension: token) {
    data { dimension metric } limit filterDate { from to }
  }
  grouped: apiUsageStatsGroupedBy(organizationUuid: $org, period: $period) {
    data { dimension metric } limit filterDate { from to }
  }
  daily: apiUsageStatsDaily(organizationUuid: $org, period: $period) {
    data { date metric } filterDate { from to }
  }
}"""

COMBINED = """query Combined($orgs: [ID!]!, $period: PeriodFilter!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: $period) {
    total { usage limit }
    byOrganization { organizationUuid organizationName usage limit }
    counters: topItems { dimension metric organizationUuid organizationName }
    nullDimension: topItems(dimension: null) { dimension metric organizationUuid }
    operations: topItems(dimension: operation_name) {
      dimension metric organizationUuid organizationName
    }
    tokens: topItems(dimension: token) { dimension metric organizationUuid organizationName }
    filterDate { from to }
    partial
  }
}"""


@dataclass(frozen=True)
class Call:
    org: str
    day: date
    operation: str
    token: str


@dataclass
class World:
    server: LiveServer
    orgs: dict[str, dict[str, str]]
    tokens: dict[str, str] = field(default_factory=dict)
    """Token key -> bearer token."""
    billing: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Token key -> (billing organization, label in the token dimension)."""
    calls: list[Call] = field(default_factory=list)
    """The model: every call the contract says is billable."""

    def ask(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        response = self.server.graphql_response(self.tokens["observer"], query, variables)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def send(
        self,
        token: str,
        query: str,
        *,
        operation_name: str | None = None,
        counted_as: str | None = None,
        status: int = 200,
    ) -> dict[str, Any]:
        """Send one request; ``counted_as`` is the operation name it must be billed under
        (None: the contract says it is not billable)."""
        bearer = self.tokens.get(token, token)
        response = self.server.graphql_response(bearer, query, None, operation_name)
        assert response.status_code == status, response.text
        if counted_as is not None:
            org, label = self.billing[token]
            self.calls.append(Call(org, self.server.clock.now().date(), counted_as, label))
        body: dict[str, Any] = response.json()
        return body


# ------------------------------------------------------------------ the world


def _document(orgs: dict[str, dict[str, str]], suffix: str) -> dict[str, Any]:
    def member(org: str, role: str) -> dict[str, str]:
        return {"organization": orgs[org]["id"], "role": role}

    def personal(name: str, org: str) -> list[dict[str, str]]:
        return [{"name": name, "billingOrganization": orgs[org]["id"]}]

    def account(org: str, name: str, role: str) -> dict[str, str]:
        return {"organization": orgs[org]["id"], "name": name, "role": role, "tokenLifetime": "30d"}

    return {
        "organizations": [
            {
                **orgs["A"],
                "settings": [
                    {"effectiveFrom": "2026-09", "allowances": {"apiCalls": 1000}},
                    {"effectiveFrom": "2026-11", "allowances": {"apiCalls": 2500}},
                ],
            },
            orgs["B"],
            {
                **orgs["C"],
                "settings": [
                    {"effectiveFrom": "2026-11", "allowances": {"apiCalls": 300}},
                    {"effectiveFrom": "2026-12", "allowances": {"apiCalls": None}},
                ],
            },
            orgs["D"],
            orgs["E"],
        ],
        "users": [
            {
                "email": f"john-{suffix}@example.test",
                "name": "John",
                "memberships": [member("A", "admin")],
                "personalTokens": personal("Python Integration", "A"),
            },
            {
                "email": f"mary-{suffix}@example.test",
                "name": "Mary",
                "memberships": [member("B", "admin")],
                "personalTokens": personal("CLI", "B"),
            },
            {
                "email": f"olivia-{suffix}@example.test",
                "name": "Olivia",
                "memberships": [
                    member("A", "admin"),
                    member("B", "super_admin"),
                    member("C", "admin"),
                    member("D", "member"),
                ],
                "personalTokens": personal("stats", "D"),
            },
        ],
        "serviceAccounts": [
            account("A", "HR Integration Bot", "admin"),
            account("A", "Reporter", "member"),
            account("B", "Beta Bot", "admin"),
            account("C", "Gamma Bot", "admin"),
        ],
    }


def _drive(world: World) -> None:
    """The traffic: (clock, token, document) with what each request must count as."""
    clock, send, orgs = world.server.clock, world.send, world.orgs

    def at(moment: datetime) -> None:
        clock.set(moment)

    at(datetime(2026, 8, 31, 23, 59, 59, tzinfo=UTC))  # before every period asked below
    for _ in range(2):
        send("hr", "query GetCards { __typename }", counted_as="GetCards")

    at(datetime(2026, 9, 15, 12, tzinfo=UTC))
    for _ in range(3):
        send("hr", "query GetCards { __typename }", counted_as="GetCards")
    for _ in range(2):
        send("hr", PING, counted_as="Not specified")
    for _ in range(2):
        send("john", "query GetUsage { __typename }", counted_as="GetUsage")
    send("beta", "query SyncBeta { __typename }", counted_as="SyncBeta")

    at(datetime(2026, 9, 30, 23, 59, 59, tzinfo=UTC))  # the last second of September
    send("john", PING, counted_as="Not specified")
    assert world.server.flush() == "applied"

    at(datetime(2026, 10, 1, tzinfo=UTC))  # the first second of October
    for _ in range(2):
        send("hr", "query CreateCards { __typename }", counted_as="CreateCards")
    send("mary", PING, counted_as="Not specified")
    for _ in range(2):
        send("gamma", "query GammaOp { __typename }", counted_as="GammaOp")

    at(datetime(2026, 10, 17, 8, tzinfo=UTC))
    multi = "query First { __typename } query Second { __typename }"
    for _ in range(2):
        send("hr", multi, operation_name="Second", counted_as="Second")
    send("john", multi, operation_name="First", counted_as="First")
    send(
        "john",
        "query UpdatePipe { __typename }",
        operation_name="UpdatePipe",
        counted_as="UpdatePipe",
    )
    a = orgs["A"]
    stats_a = f'apiUsageStats(organizationUuid: "{a["uuid"]}", period: current_month) {{ limit }}'
    # Partially denied: one root field allowed, one denied -> billable.
    mixed = send(
        "reporter",
        f'query Mixed {{ organization(id: "{a["id"]}") {{ id }} {stats_a} }}',
        counted_as="Mixed",
    )
    assert mixed["data"] == {"organization": {"id": a["id"]}, "apiUsageStats": None}
    assert [e["extensions"]["code"] for e in mixed["errors"]] == ["PERMISSION_DENIED"]
    # Every root field denied -> not billable; the same for an unknown organization.
    denied = send("reporter", f"query Denied {{ {stats_a} }}")
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    unknown = stats_a.replace(a["uuid"], str(uuid.uuid4()))
    assert send("reporter", f"query Unknown {{ {unknown} }}")["data"] == {"apiUsageStats": None}
    # Refused before execution, or unauthenticated -> not billable.
    send("hr", "query Bad { nope }", status=400)
    send("hr", "query Broken { __typename", status=400)
    send("tb_sat_not-a-real-token", "query GetCards { __typename }", status=401)
    send("hr", multi, status=400)  # several operations and no operationName
    # Executed, with a bad argument value -> billable (the request was executed).
    empty = send(
        "hr",
        "query Empty { apiUsageStatsCombined(organizationUuids: [], period: current_month) "
        "{ partial } }",
        counted_as="Empty",
    )
    assert empty["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert world.server.flush() == "applied"

    at(datetime(2026, 11, 1, tzinfo=UTC))
    # More than ten names in November, with ties across the cut of the top 10.
    for name, times in [
        ("Alpha", 5),
        ("Bravo", 3),
        ("Charlie", 3),
        ("Delta", 3),
        ("Echo", 2),
        ("Foxtrot", 2),
        ("Golf", 2),
        ("Hotel", 1),
        ("India", 1),
        ("Juliet", 1),
        ("Kilo", 1),
        ("Lima", 1),
    ]:
        for _ in range(times):
            send("hr", f"query {name} {{ __typename }}", counted_as=name)

    at(datetime(2026, 11, 20, 10, tzinfo=UTC))
    for _ in range(3):
        send("john", PING, counted_as="Not specified")
    send("john", "query GetCards { __typename }", counted_as="GetCards")
    for _ in range(2):
        send("beta", "query SyncBeta { __typename }", counted_as="SyncBeta")
    for _ in range(5):  # ties with A's Alpha: broken by organization UUID
        send("mary", "query Alpha { __typename }", counted_as="Alpha")
    send("mary", "query Report { __typename }", counted_as="Report")
    send("gamma", PING, counted_as="Not specified")
    assert world.server.flush() == "applied"

    at(NOW)
    send("hr", "query GetCards { __typename }", counted_as="GetCards")
    send(
        "reporter",
        f'query Mixed {{ organization(id: "{a["id"]}") {{ id }} {stats_a} }}',
        counted_as="Mixed",
    )
    assert world.server.flush() == "applied"
    assert world.server.flush() == "empty"


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", marks=pytest.mark.sqlite),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("_sqlite_template")
        url = copy_sqlite(template, tmp_path_factory.mktemp("api-usage"))
    else:
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        url = postgres.new_database()
    # A long interval: the test flushes explicitly, so every answer is deterministic.
    server = LiveServer(url, now=NOW, flush_interval=60)
    suffix = uuid.uuid4().hex[:6]
    # UUIDs ordered against the names (A's sorts last), so ties broken by UUID are
    # told apart from ties broken by name or by input order.
    first_digit = {"A": "f", "B": "1", "C": "8", "D": "a", "E": "2"}
    names = {"A": "Acme", "B": "Beta", "C": "Gamma", "D": "Delta", "E": "Echo"}
    orgs = {
        key: {
            "id": f"{index}{uuid.uuid4().int % 10**8}",
            "uuid": first_digit[key] + str(uuid.uuid4())[1:],
            "name": f"{names[key]} {suffix}",
        }
        for index, key in enumerate(ORGS, start=1)
    }
    with server.running():
        secrets = server.apply(_document(orgs, suffix))
        world = World(server, orgs)
        accounts = server.service_account_tokens(secrets)
        personal = server.personal_tokens(secrets)
        by_name = {token_key.split("/")[1]: token for token_key, token in personal.items()}
        world.tokens = {
            "hr": accounts["HR Integration Bot"],
            "reporter": accounts["Reporter"],
            "beta": accounts["Beta Bot"],
            "gamma": accounts["Gamma Bot"],
            "john": by_name["Python Integration"],
            "mary": by_name["CLI"],
            "observer": by_name["stats"],
        }
        world.billing = {
            "hr": ("A", "HR Integration Bot"),
            "reporter": ("A", "Reporter"),
            "beta": ("B", "Beta Bot"),
            "gamma": ("C", "Gamma Bot"),
            "john": ("A", "John - Python Integration"),
            "mary": ("B", "Mary - CLI"),
        }
        _drive(world)
        yield world


# ------------------------------------------------------------------ the naive model


@dataclass(frozen=True)
class Window:
    months: tuple[tuple[int, int], ...]
    today: date

    @property
    def first_day(self) -> date:
        year, month = self.months[0]
        return date(year, month, 1)

    @property
    def last_day(self) -> date:
        year, month = self.months[-1]
        return date(year, month, calendar.monthrange(year, month)[1])

    def filter_date(self) -> dict[str, str]:
        return {
            "from": f"{self.first_day.isoformat()}T00:00:00Z",
            "to": f"{self.last_day.isoformat()}T23:59:59Z",
        }

    def days(self) -> list[date]:
        last = min(self.last_day, self.today)
        return [self.first_day + timedelta(days=n) for n in range((last - self.first_day).days + 1)]


def window_of(period: str, now: datetime) -> Window:
    def shift(months: int) -> tuple[int, int]:
        index = now.year * 12 + now.month - 1 + months
        return (index // 12, index % 12 + 1)

    months = {
        "current_month": (shift(0),),
        "last_month": (shift(-1),),
        "last_3_months": (shift(-2), shift(-1), shift(0)),
    }[period]
    return Window(months, now.date())


def calls_of(world: World, org: str, window: Window) -> list[Call]:
    return [c for c in world.calls if c.org == org and (c.day.year, c.day.month) in window.months]


def limit_of(org: str, window: Window) -> int | None:
    values = [ALLOWANCES.get(org, {}).get(month) for month in window.months]
    present = [v for v in values if v is not None]
    return sum(present) if present else None


def top10(counts: Counter[str]) -> list[dict[str, Any]]:
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:10]
    return [{"dimension": value, "metric": metric} for value, metric in ranked]


def expected_single(world: World, org: str, window: Window) -> dict[str, Any]:
    calls = calls_of(world, org, window)
    limit, dates = limit_of(org, window), window.filter_date()
    counter = {
        "data": [{"dimension": "Counter", "metric": len(calls)}],
        "limit": limit,
        "filterDate": dates,
    }
    per_day = Counter(c.day for c in calls)
    return {
        "counter": counter,
        "nullDimension": counter,
        "grouped": counter,
        "operations": {
            "data": top10(Counter(c.operation for c in calls)),
            "limit": limit,
            "filterDate": dates,
        },
        "tokens": {
            "data": top10(Counter(c.token for c in calls)),
            "limit": limit,
            "filterDate": dates,
        },
        "daily": {
            "data": [
                {"date": d.isoformat(), "metric": per_day[d]} for d in reversed(window.days())
            ],
            "filterDate": dates,
        },
    }


def expected_combined(
    world: World, keys: list[str], window: Window, partial: bool
) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    pairs: dict[str, list[tuple[int, str, str, str]]] = {"operation": [], "token": []}
    for key in keys:
        org, calls = world.orgs[key], calls_of(world, key, window)
        rows.append(
            {
                "organizationUuid": org["uuid"],
                "organizationName": org["name"],
                "usage": len(calls),
                "limit": limit_of(key, window),
            }
        )
        for attribute in pairs:
            for value, metric in Counter(getattr(c, attribute) for c in calls).items():
                pairs[attribute].append((metric, value, org["uuid"], org["name"]))
    limits = [r["limit"] for r in rows if r["limit"] is not None]

    def top(items: list[tuple[int, str, str, str]]) -> list[dict[str, Any]]:
        ranked = sorted(items, key=lambda p: (-p[0], p[1], p[2]))[:10]
        return [
            {"dimension": v, "metric": m, "organizationUuid": u, "organizationName": n}
            for m, v, u, n in ranked
        ]

    counters = [
        {
            "dimension": "Counter",
            "metric": r["usage"],
            "organizationUuid": r["organizationUuid"],
            "organizationName": r["organizationName"],
        }
        for r in sorted(rows, key=lambda r: (-r["usage"], r["organizationUuid"]))
    ]  # one per organization, not capped at 10
    return {
        "total": {"usage": sum(r["usage"] for r in rows), "limit": sum(limits) if limits else None},
        "byOrganization": rows,
        "counters": counters,
        "nullDimension": [
            {k: v for k, v in c.items() if k != "organizationName"} for c in counters
        ],
        "operations": top(pairs["operation"]),
        "tokens": top(pairs["token"]),
        "filterDate": window.filter_date(),
        "partial": partial,
    }


# ------------------------------------------------------------------ the tests

MOMENTS = [
    NOW,
    datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC),  # the last second of November
    datetime(2026, 12, 1, tzinfo=UTC),  # the first second of December
]


def test_the_traffic_was_metered_as_the_contract_says(world: World) -> None:
    """Sanity of the model itself, so the comparisons below compare something."""
    assert Counter(c.org for c in world.calls) == {"A": 49, "B": 10, "C": 3}


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%Y-%m-%dT%H:%M:%S"))
@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("org", ["A", "B", "C"])
def test_single_organization_queries(world: World, org: str, period: str, moment: datetime) -> None:
    world.server.clock.set(moment)
    answer = world.ask(SINGLE, {"org": world.orgs[org]["uuid"], "period": period})
    assert "errors" not in answer, answer
    assert answer["data"] == expected_single(world, org, window_of(period, moment))


@pytest.mark.parametrize("moment", MOMENTS, ids=lambda m: m.strftime("%Y-%m-%dT%H:%M:%S"))
@pytest.mark.parametrize("period", PERIODS)
def test_combined_query_drops_what_it_may_not_show(
    world: World, period: str, moment: datetime
) -> None:
    world.server.clock.set(moment)
    o = world.orgs
    # B, C, A in that order; an unknown organization; E (not a member) and D (a member
    # without usage_stats) are dropped; A again (upper case) collapses into A.
    requested = [
        o["B"]["uuid"],
        o["C"]["uuid"],
        str(uuid.uuid4()),
        o["E"]["uuid"],
        o["A"]["uuid"],
        o["D"]["uuid"],
        o["A"]["uuid"].upper(),
    ]
    answer = world.ask(COMBINED, {"orgs": requested, "period": period})
    assert "errors" not in answer, answer
    expected = expected_combined(world, ["B", "C", "A"], window_of(period, moment), partial=True)
    assert answer["data"]["apiUsageStatsCombined"] == expected


def test_combined_query_of_permitted_organizations_is_not_partial(world: World) -> None:
    world.server.clock.set(NOW)
    o = world.orgs
    answer = world.ask(
        COMBINED,
        {"orgs": [o["C"]["uuid"], o["A"]["uuid"], o["C"]["uuid"]], "period": "last_3_months"},
    )
    expected = expected_combined(world, ["C", "A"], window_of("last_3_months", NOW), partial=False)
    assert answer["data"]["apiUsageStatsCombined"] == expected
    # 25 entries as sent (all duplicates) are allowed and collapse to one row.
    answer = world.ask(COMBINED, {"orgs": [o["B"]["uuid"]] * 25, "period": "current_month"})
    expected = expected_combined(world, ["B"], window_of("current_month", NOW), partial=False)
    assert answer["data"]["apiUsageStatsCombined"] == expected


def test_combined_query_with_every_organization_dropped_is_empty_and_partial(world: World) -> None:
    world.server.clock.set(NOW)
    o = world.orgs
    answer = world.ask(
        COMBINED,
        {"orgs": [o["E"]["uuid"], str(uuid.uuid4()), o["D"]["uuid"]], "period": "current_month"},
    )
    assert "errors" not in answer
    assert answer["data"]["apiUsageStatsCombined"] == {
        "total": {"usage": 0, "limit": None},
        "byOrganization": [],
        "counters": [],
        "nullDimension": [],
        "operations": [],
        "tokens": [],
        "filterDate": {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"},
        "partial": True,
    }


@pytest.mark.parametrize(
    ("count", "reason"),
    [(0, "at least 1"), (26, "at most 25")],
)
def test_combined_query_refuses_empty_and_oversized_lists(
    world: World, count: int, reason: str
) -> None:
    # 26 copies of one UUID: lists are counted as sent, before duplicates collapse.
    answer = world.ask(
        COMBINED, {"orgs": [world.orgs["A"]["uuid"]] * count, "period": "current_month"}
    )
    assert answer["data"] == {"apiUsageStatsCombined": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert error["path"] == ["apiUsageStatsCombined"]
    assert reason in error["message"]


def test_combined_query_refuses_malformed_uuids_naming_each(world: World) -> None:
    orgs = ["not-a-uuid", world.orgs["A"]["uuid"], "1234"]
    answer = world.ask(COMBINED, {"orgs": orgs, "period": "current_month"})
    assert answer["data"] == {"apiUsageStatsCombined": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_INPUT"
    assert [p["path"] for p in error["extensions"]["problems"]] == [
        "organizationUuids[0]",
        "organizationUuids[2]",
    ]


@pytest.mark.parametrize("field", ["apiUsageStats", "apiUsageStatsGroupedBy", "apiUsageStatsDaily"])
def test_single_queries_deny_forbidden_and_unknown_organizations_alike(
    world: World, field: str
) -> None:
    world.server.clock.set(NOW)
    arguments = "organizationUuid: $org, period: current_month"
    query = f"query Q($org: ID!) {{ {field}({arguments}) {{ data {{ metric }} }} }}"
    answers = [
        world.ask(query, {"org": world.orgs["E"]["uuid"]}),  # exists, the observer is no member
        world.ask(query, {"org": world.orgs["D"]["uuid"]}),  # a member without usage_stats
        world.ask(query, {"org": str(uuid.uuid4())}),  # does not exist
    ]
    reporter = world.server.graphql(
        world.tokens["reporter"], query, {"org": world.orgs["A"]["uuid"]}
    )
    for answer in [*answers, reporter]:
        assert answer["data"] == {field: None}
        (error,) = answer["errors"]
        assert error["extensions"]["code"] == "PERMISSION_DENIED"
        assert error["path"] == [field]
    assert len({a["errors"][0]["message"] for a in [*answers, reporter]}) == 1


def test_single_queries_refuse_a_malformed_uuid(world: World) -> None:
    query = (
        "query Q($org: ID!) "
        "{ apiUsageStats(organizationUuid: $org, period: current_month) { limit } }"
    )
    answer = world.ask(query, {"org": "300123"})
    assert answer["data"] == {"apiUsageStats": None}
    assert answer["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


def test_asking_is_billed_to_the_askers_organization(world: World) -> None:
    """The observer's queries count toward D (its billing organization), not A, B or C."""
    world.server.clock.set(NOW)
    before = world.server.flush()
    assert before in ("applied", "empty")
    query = (
        "query Mine($org: ID!) "
        "{ apiUsageStats(organizationUuid: $org, period: current_month) { data { metric } } }"
    )
    # Olivia may not read D; Dee, an admin of D billed to E, reads it instead.
    secrets = world.server.apply(
        {
            "users": [
                {
                    "email": f"d-admin-{uuid.uuid4().hex[:6]}@example.test",
                    "name": "Dee",
                    "memberships": [
                        {"organization": world.orgs["D"]["id"], "role": "admin"},
                        {"organization": world.orgs["E"]["id"], "role": "member"},
                    ],
                    "personalTokens": [{"name": "t", "billingOrganization": world.orgs["E"]["id"]}],
                }
            ]
        }
    )
    (dee,) = world.server.personal_tokens(secrets).values()
    first = world.server.graphql(dee, query, {"org": world.orgs["D"]["uuid"]})
    world.ask(SINGLE, {"org": world.orgs["A"]["uuid"], "period": "current_month"})
    world.server.flush()
    second = world.server.graphql(dee, query, {"org": world.orgs["D"]["uuid"]})
    assert (
        second["data"]["apiUsageStats"]["data"][0]["metric"]
        == first["data"]["apiUsageStats"]["data"][0]["metric"] + 1
    )
