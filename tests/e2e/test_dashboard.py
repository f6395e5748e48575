"""The dashboard in real headless Chromium against a real server (uvicorn in a thread).

Usage is seeded through ``POST /v1/events``; every figure the page shows is compared
with the GraphQL API's own answer for the same credential, so the test holds whatever
the page computes on its way (merging chunks, summing, formatting).

The browser's personal token bills its API calls to an organization it cannot see, and
metering flushes only every 60 s: the dashboard's own requests never move the numbers
under comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import chromium, chromium_or_skip
from tests.support.dashboard import (
    ACME,
    BILLING,
    GLOBEX,
    INITECH,
    choose_organizations,
    credits,
    dashboard_page,
    download_csv,
    gql,
    seeded_server,
    sign_in,
    table_rows,
)
from tests.support.harness import DEFAULT_NOW, LiveServer
from tests.support.usage import ai_credit, api_call, integration_task

pytestmark = [pytest.mark.browser, pytest.mark.sqlite]

PROJECTS = {
    "sales": {"id": "p-sales", "name": "Sales", "icon": "cart", "color": "blue"},
    "people": {"id": "p-people", "name": "People", "color": "green"},
    "finance": {"id": "p-fin", "name": "Finance, Legal & Co", "color": "amber"},
}
FLOW_NAMES = [
    'Sync "VIP" accounts, nightly',
    "Sync CRM contacts",
    "Score inbound leads",
    "Payroll export",
    "New hire provisioning",
    "Ledger reconciliation",
    "Expense approvals",
    "FX rates import",
    "Quote PDF generator",
    "Renewal reminders",
    "PTO calendar sync",
    "Dunning e-mails",
    "Offboarding checklist",
    "Vendor onboarding",
    "Invoice archive",
    "Deal won → onboarding",
    "Pulse survey digest",
    "Budget alerts",
    "Contract renewals",
    "Tax filings",
    "Office supplies",
    "Badge access",
    "Travel bookings",
    "Asset register",
    "=Formula-looking flow",
]
FLOWS: list[dict[str, Any]] = [
    {
        "id": f"flow-{index:02d}",
        "name": name,
        "status": "DISABLED" if index % 4 == 3 else "ENABLED",
        "project": PROJECTS[("sales", "people", "finance")[index % 3]],
    }
    for index, name in enumerate(FLOW_NAMES)
]

BRANCHES = [
    {"id": f"2{n:03d}", "uuid": f"00000000-0000-4000-8000-{n:012d}", "name": f"Branch {n:02d}"}
    for n in range(1, 28)
]

DOCUMENT: dict[str, Any] = {
    "organizations": [
        {
            "id": "1001",
            "uuid": ACME,
            "name": "Acme Corp",
            "settings": [
                {
                    "effectiveFrom": "2026-09",
                    "allowances": {"apiCalls": 5000, "integrationTasks": 900, "aiCredits": 10.5},
                    "aiCreditAddon": True,
                    "freeAiCredits": 2,
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": True,
                }
            ],
            "agents": [
                {"id": "agt-invoice", "name": "Invoice Processor"},
                {"id": "agt-old", "name": "Old Bot", "deleted": True},
            ],
            "flows": FLOWS,
        },
        {"id": "1002", "uuid": GLOBEX, "name": "Globex"},
        {
            "id": "1003",
            "uuid": INITECH,
            "name": "Initech",
            "settings": [{"effectiveFrom": "2026-09", "allowances": {"aiCredits": 4}}],
        },
        {"id": "1004", "uuid": BILLING, "name": "Billing only"},
        *BRANCHES,
    ],
    "users": [
        {
            "email": "ada@example.test",
            "name": "Ada",
            "memberships": [
                {"organization": "1001", "role": "super_admin"},
                {"organization": "1002", "role": "admin"},
                {"organization": "1003", "role": "admin"},
                {"organization": "1004", "role": "member"},
            ],
            "personalTokens": [{"name": "Browser", "billingOrganization": "1004"}],
        },
        {
            "email": "grace@example.test",
            "name": "Grace",
            "memberships": [
                {"organization": "1004", "role": "member"},
                *({"organization": b["id"], "role": "admin"} for b in BRANCHES),
            ],
            "personalTokens": [{"name": "Browser", "billingOrganization": "1004"}],
        },
        {
            "email": "linus@example.test",
            "name": "Linus",
            "memberships": [{"organization": "1001", "role": "member"}],
            "personalTokens": [{"name": "CLI", "billingOrganization": "1001"}],
        },
    ],
    "serviceAccounts": [
        {"organization": "1004", "name": "Short lived", "role": "admin", "tokenLifetime": "5m"}
    ],
}


def _events() -> list[dict[str, Any]]:
    day = timedelta(days=1)
    events: list[dict[str, Any]] = []
    operations = [None, "GetCards", "CreateCard", "UpdateCard", "GetPipe", "SearchRecords"]
    operations += [f"Operation{n:02d}" for n in range(8)]
    for n, operation in enumerate(operations):
        for when in (DEFAULT_NOW - n * day, DEFAULT_NOW - (21 + n) * day):
            events.append(
                api_call(
                    ACME, when, operation_name=operation, caller=f"Bot {n % 4}", count=7 * n + 3
                )
            )
        events.append(
            api_call(GLOBEX, DEFAULT_NOW - n * day, operation_name=operation, count=n + 1)
        )
    events.append(api_call(ACME, DEFAULT_NOW - 2 * day, operation_name="GetCards", status=500))
    for index, flow in enumerate(FLOWS[:20]):
        for run in range(index % 3 + 1):
            events.append(
                integration_task(
                    ACME,
                    DEFAULT_NOW - (run * 3 + index % 5) * day,
                    flow["id"],
                    10 + index * 7 + run,
                )
            )
        events.append(integration_task(ACME, DEFAULT_NOW - 33 * day, flow["id"], 5))
    events.append(integration_task(GLOBEX, DEFAULT_NOW - day, "gx-orders", 42, flow_name="Orders"))
    for n in range(12):
        events.append(ai_credit(ACME, DEFAULT_NOW - n * day, 0.1, agent_id="agt-invoice"))
        events.append(ai_credit(ACME, DEFAULT_NOW - n * day, 0.2, agent_id="agt-old"))
    events.append(ai_credit(ACME, DEFAULT_NOW - day, 1.25))
    events.append(ai_credit(INITECH, DEFAULT_NOW - day, 2.5, agent_id="agt-x", agent_name="X"))
    events.append(ai_credit(INITECH, DEFAULT_NOW - day, 0.75))
    for n, branch in enumerate(BRANCHES):
        at = DEFAULT_NOW - (n % 9) * day
        events.append(api_call(branch["uuid"], at, operation_name=f"Op{n % 12}", count=n + 1))
        events.append(integration_task(branch["uuid"], at, "sync", n + 2, flow_name="Sync"))
        events.append(ai_credit(branch["uuid"], at, 0.1))
    return events


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(chromium_or_skip()) as launched:
        yield launched


@dataclass
class Seeded:
    server: LiveServer
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def seeded(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    directory = tmp_path_factory.mktemp("dashboard")
    with seeded_server(_sqlite_template, directory, DOCUMENT, _events()) as world:
        live, secrets = world.server, world.secrets
        personal = live.personal_tokens(secrets)
        tokens = {
            "ada": personal["ada@example.test/Browser"],
            "grace": personal["grace@example.test/Browser"],
            "linus": personal["linus@example.test/CLI"],
            **live.service_account_tokens(secrets),
        }
        yield Seeded(live, tokens)


@pytest.fixture
def server(seeded: Seeded) -> LiveServer:
    return seeded.server


@pytest.fixture
def tokens(seeded: Seeded) -> dict[str, str]:
    return seeded.tokens


@pytest.fixture
def page(browser: Browser, seeded: Seeded) -> Iterator[Page]:
    # The expired-token test provokes a 401 on purpose.
    with dashboard_page(browser, seeded.server.base_url, tolerated=lambda t: "401" in t) as page:
        yield page


# ------------------------------------------------------------------ helpers


def number(text: str) -> int:
    return int(text.replace(",", ""))


# ------------------------------------------------------------------ signed out


def test_signed_out_the_page_asks_for_a_token_and_refuses_a_bad_one(
    page: Page, server: LiveServer
) -> None:
    response = page.goto("/")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#dashboard")).to_be_hidden()

    page.get_by_label("Access token").fill("tb_pat_not-a-real-token")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#signin-message")).to_contain_text("not accepted")
    assert page.evaluate("sessionStorage.getItem('tallyboard.token')") is None


# ------------------------------------------------------------------ API calls


API_SINGLE = """query($org: ID!, $period: PeriodFilter!) {
  total: apiUsageStats(organizationUuid: $org, period: $period) {
    data { metric } limit filterDate { from to }
  }
  ops: apiUsageStats(organizationUuid: $org, period: $period, dimension: operation_name) {
    data { dimension metric }
  }
  tokens: apiUsageStats(organizationUuid: $org, period: $period, dimension: token) {
    data { dimension metric }
  }
  daily: apiUsageStatsDaily(organizationUuid: $org, period: $period) { data { date metric } }
}"""
API_COMBINED = """query($orgs: [ID!]!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: current_month) {
    total { usage } byOrganization { organizationName usage }
  }
}"""
TASKS = """query($a: ID!, $b: ID!) {
  a: integrationsUsageStats(organizationUuid: $a, period: current_month) {
    tasksConsumed { usage } activeFlows
  }
  b: integrationsUsageStats(organizationUuid: $b, period: current_month) {
    tasksConsumed { usage } activeFlows
  }
}"""


def test_a_sign_in_link_shows_the_api_calls_the_api_reports(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["ada"])
    expected = gql(server, tokens["ada"], API_SINGLE, org=ACME, period="current_month")

    total = expected["total"]
    expect(page.get_by_test_id("api-total")).to_have_text(f"{total['data'][0]['metric']:,}")
    # The token left the address bar, lives in sessionStorage, and no cookie was set.
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('tallyboard.token')") == tokens["ada"]
    assert page.context.cookies() == []
    expect(page.locator("#subtitle")).to_have_text(
        "Acme Corp · This month · 1 Nov – 30 Nov 2026 (UTC)"
    )
    assert total["filterDate"] == {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
    expect(page.locator("#panel-api .kpi-detail").first).to_contain_text(
        f"of {total['limit']:,} allowance"
    )
    assert table_rows(page, "top-operations") == [
        [item["dimension"], f"{item['metric']:,}"] for item in expected["ops"]["data"]
    ]
    assert table_rows(page, "top-tokens") == [
        [item["dimension"], f"{item['metric']:,}"] for item in expected["tokens"]["data"]
    ]
    bars = page.locator("#panel-api .chart .bar")
    expect(bars).to_have_count(len(expected["daily"]["data"]))
    label = page.locator("#panel-api .chart svg").get_attribute("aria-label") or ""
    assert "1 Nov – 30 Nov 2026" in label
    # Personal tokens are deprecated: the page says so, discreetly.
    expect(page.locator("#credential .badge")).to_have_text("Deprecated")

    page.get_by_role("button", name="Last month").click()
    last = gql(server, tokens["ada"], API_SINGLE, org=ACME, period="last_month")
    expect(page.get_by_test_id("api-total")).to_have_text(f"{last['total']['data'][0]['metric']:,}")
    expect(page.locator("#subtitle")).to_contain_text("1 Oct – 31 Oct 2026")
    assert table_rows(page, "top-operations")[0] == [
        last["ops"]["data"][0]["dimension"],
        f"{last['ops']['data'][0]['metric']:,}",
    ]

    rows = download_csv(page, page.get_by_role("button", name="Export Top operations as CSV"))
    assert [(r["Operation"], int(r["Calls"])) for r in rows] == [
        (item["dimension"], item["metric"]) for item in last["ops"]["data"]
    ]


def test_several_organizations_and_the_tabs_by_keyboard(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["ada"])
    expect(page.get_by_test_id("api-total")).to_be_visible()
    choose_organizations(page, "Acme Corp", "Globex")
    expect(page.get_by_test_id("org-picker")).to_have_text("2 organizations")

    combined = gql(server, tokens["ada"], API_COMBINED, orgs=[ACME, GLOBEX])[
        "apiUsageStatsCombined"
    ]
    expect(page.get_by_test_id("api-total")).to_have_text(f"{combined['total']['usage']:,}")
    rows = table_rows(page, "api-by-organization")
    assert [(r[0], number(r[1])) for r in rows] == [
        (row["organizationName"], row["usage"]) for row in combined["byOrganization"]
    ]

    # Tabs: one tab stop, arrow keys move and show.
    page.locator("#tab-api").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-integrations")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#tab-integrations")).to_be_focused()
    expect(page.locator("#panel-integrations")).to_be_visible()
    expect(page.locator("#panel-api")).to_be_hidden()
    stats = gql(server, tokens["ada"], TASKS, a=ACME, b=GLOBEX)
    tasks = stats["a"]["tasksConsumed"]["usage"] + stats["b"]["tasksConsumed"]["usage"]
    expect(page.get_by_test_id("tasks-total")).to_have_text(f"{tasks:,}")
    flows = stats["a"]["activeFlows"] + stats["b"]["activeFlows"]
    expect(page.get_by_test_id("active-flows")).to_have_text(f"{flows:,}")

    page.keyboard.press("End")
    expect(page.locator("#tab-ai")).to_have_attribute("aria-selected", "true")
    ai = gql(server, tokens["ada"], AI_COMBINED, orgs=[ACME, GLOBEX])["aiCreditUsageStatsCombined"]
    expect(page.get_by_test_id("ai-total")).to_have_text(credits(ai["total"]["usage"]))
    expect(page.get_by_test_id("ai-by-organization")).to_be_visible()
    page.keyboard.press("Home")
    expect(page.locator("#tab-api")).to_have_attribute("aria-selected", "true")


def test_more_organizations_than_one_document_may_name_are_split_and_added_up(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["grace"])
    expect(page.get_by_test_id("api-total")).to_be_visible()
    page.get_by_test_id("org-picker").click()
    page.get_by_role("button", name="All", exact=True).click()
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("org-picker")).to_have_text("All organizations (27)")
    # A usage report takes at most 25 organizations (spec §9): the page says so at once.
    expect(page.get_by_role("button", name="Export usage report")).to_be_disabled()
    expect(page.get_by_test_id("report-export-status")).to_have_text(
        "A usage report covers at most 25 organizations: choose fewer."
    )

    uuids = [b["uuid"] for b in BRANCHES]
    chunks = [uuids[:25], uuids[25:]]
    api = [
        gql(server, tokens["grace"], API_COMBINED, orgs=c)["apiUsageStatsCombined"] for c in chunks
    ]
    expect(page.get_by_test_id("api-total")).to_have_text(
        f"{sum(a['total']['usage'] for a in api):,}"
    )
    rows = table_rows(page, "api-by-organization")
    assert [(r[0], number(r[1])) for r in rows] == [
        (row["organizationName"], row["usage"]) for a in api for row in a["byOrganization"]
    ]

    page.get_by_role("tab", name="Integrations").click()
    tasks = 0
    for branch in BRANCHES:
        stats = gql(server, tokens["grace"], TASKS, a=branch["uuid"], b=branch["uuid"])
        tasks += stats["a"]["tasksConsumed"]["usage"]
    expect(page.get_by_test_id("tasks-total")).to_have_text(f"{tasks:,}")
    expect(page.get_by_test_id("tasks-by-organization").locator("tbody tr")).to_have_count(27)

    page.get_by_role("tab", name="AI credits").click()
    ai = [
        gql(server, tokens["grace"], AI_COMBINED, orgs=c)["aiCreditUsageStatsCombined"]
        for c in chunks
    ]
    exact = sum(Decimal(repr(a["total"]["usage"])) for a in ai)
    assert exact == Decimal("2.7")  # 27 x 0.1, with no float drift across the two answers
    expect(page.get_by_test_id("ai-total")).to_have_text("2.7")


# ------------------------------------------------------------------ the flow table


DETAILS = """query($org: ID!, $status: String, $search: String, $sort: SortCriteria,
                   $first: Int, $after: String) {
  integrationsUsageDetails(organizationUuid: $org, period: current_month, status: $status,
                           search: $search, sort: $sort, first: $first, after: $after) {
    totalFlows totalTasks
    edges { node { id name project { name } tasks runs lastRunAt status } }
    pageInfo { hasNextPage endCursor }
  }
}"""


def details(server: LiveServer, token: str, **variables: Any) -> dict[str, Any]:
    result: dict[str, Any] = gql(server, token, DETAILS, org=ACME, **variables)[
        "integrationsUsageDetails"
    ]
    return result


def shown_flow_ids(page: Page) -> list[str]:
    rows = page.get_by_test_id("flows-table").locator("tbody tr")
    return [row.get_attribute("data-flow-id") or "" for row in rows.all()]


def ids(answer: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in answer["edges"]]


def test_the_flow_table_pages_sorts_searches_filters_and_exports(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["ada"])
    page.get_by_role("tab", name="Integrations").click()
    first = details(server, tokens["ada"], first=20)
    expect(page.get_by_test_id("flow-summary")).to_have_text(
        f"{first['totalFlows']} flows · {first['totalTasks']:,} tasks"
    )
    assert shown_flow_ids(page) == ids(first)
    row = page.locator(f"[data-flow-id='{ids(first)[0]}'] td")
    node = first["edges"][0]["node"]
    assert row.nth(2).inner_text() == f"{node['runs']:,}"
    assert row.nth(3).inner_text().strip() == f"{node['tasks']:,}"

    second = details(server, tokens["ada"], first=20, after=first["pageInfo"]["endCursor"])
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_test_id("flow-page")).to_have_text("21–25 of 25")
    assert shown_flow_ids(page) == ids(second)
    expect(page.get_by_role("button", name="Next →")).to_be_disabled()
    page.get_by_role("button", name="← Previous").click()
    expect(page.get_by_test_id("flow-page")).to_have_text("1–20 of 25")
    assert shown_flow_ids(page) == ids(first)

    page.locator("button[data-sort=name]").click()
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text("Flow")
    by_name = details(server, tokens["ada"], first=20, sort={"by": "name", "order": "asc"})
    assert ids(by_name) != ids(first)
    assert shown_flow_ids(page) == ids(by_name)
    page.locator("button[data-sort=name]").click()
    expect(page.locator("th[aria-sort=descending]")).to_contain_text("Flow")
    by_name_desc = details(server, tokens["ada"], first=20, sort={"by": "name", "order": "desc"})
    assert shown_flow_ids(page) == ids(by_name_desc)

    page.get_by_label("Search").fill("  SALES ")
    searched = details(
        server, tokens["ada"], first=20, search="SALES", sort={"by": "name", "order": "desc"}
    )
    expect(page.get_by_test_id("flow-summary")).to_have_text(
        f"{searched['totalFlows']} flows · {searched['totalTasks']:,} tasks matching"
    )
    assert 0 < searched["totalFlows"] < first["totalFlows"]
    assert shown_flow_ids(page) == ids(searched)
    page.get_by_label("Status").select_option("DISABLED")
    filtered = details(
        server,
        tokens["ada"],
        first=20,
        search="SALES",
        status="DISABLED",
        sort={"by": "name", "order": "desc"},
    )
    plural = "" if filtered["totalFlows"] == 1 else "s"
    expect(page.get_by_test_id("flow-summary")).to_have_text(
        f"{filtered['totalFlows']} flow{plural} · {filtered['totalTasks']:,} tasks matching"
    )
    assert 0 < filtered["totalFlows"] < searched["totalFlows"]
    assert shown_flow_ids(page) == ids(filtered)

    page.get_by_label("Search").fill("no such flow anywhere")
    expect(page.locator("#panel-integrations")).to_contain_text("No flows match these filters.")
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_test_id("flow-summary")).to_have_text(
        f"{first['totalFlows']} flows · {first['totalTasks']:,} tasks"
    )

    exported = download_csv(page, page.get_by_role("button", name="Export flows as CSV"))
    everything = details(server, tokens["ada"], first=100, sort={"by": "name", "order": "desc"})
    assert [
        (
            r["Flow ID"],
            r["Flow"],
            r["Project"],
            r["Status"],
            int(r["Runs"]),
            int(r["Tasks"]),
            r["Last run (UTC)"],
        )
        for r in exported
    ] == [
        (
            n["id"],
            # A name a spreadsheet would run as a formula is exported as text.
            "'" + n["name"] if n["name"].startswith("=") else n["name"],
            n["project"]["name"],
            n["status"],
            n["runs"],
            n["tasks"],
            n["lastRunAt"] or "",
        )
        for n in (edge["node"] for edge in everything["edges"])
    ]
    assert 'Sync "VIP" accounts, nightly' in {r["Flow"] for r in exported}
    assert "Finance, Legal & Co" in {r["Project"] for r in exported}


# ------------------------------------------------------------------ AI credits


AI_DETAILS = """query($org: ID!) {
  aiCreditUsageStats(organizationUuid: $org, period: current_month) {
    usage limit freeAiCredit { limit usage } aiAutomation { usage } assistants { usage }
  }
}"""
AI_COMBINED = """query($orgs: [ID!]!) {
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: current_month) {
    total { usage aiAutomationUsage assistantsUsage }
    topAgents { agentId agentName creditsProcessed }
  }
}"""


def test_ai_credits_are_exact_and_fall_back_when_details_are_refused(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["ada"])
    page.get_by_role("tab", name="AI credits").click()
    ada = tokens["ada"]
    mine = gql(server, ada, AI_DETAILS, org=ACME)["aiCreditUsageStats"]
    expect(page.get_by_test_id("ai-total")).to_have_text(credits(mine["usage"]))
    assert page.get_by_test_id("ai-automation").inner_text() == credits(
        mine["aiAutomation"]["usage"]
    )
    assert page.get_by_test_id("ai-assistants").inner_text() == credits(mine["assistants"]["usage"])
    assert page.get_by_test_id("ai-free-usage").inner_text() == credits(
        mine["freeAiCredit"]["usage"]
    )
    expect(page.locator("#panel-ai")).to_contain_text(f"of {credits(mine['limit'])} allowance")
    expect(page.locator("#panel-ai")).to_contain_text("AI credit add-on active")

    agents = gql(server, ada, AI_COMBINED, orgs=[ACME])["aiCreditUsageStatsCombined"]["topAgents"]
    shown = table_rows(page, "top-agents")
    assert [row[-1] for row in shown] == [credits(a["creditsProcessed"]) for a in agents]
    deleted = next(a for a in agents if a["agentName"] is None)
    assert ["Deleted agent", deleted["agentId"]] in [row[0].split("\n") for row in shown]
    exported = download_csv(page, page.get_by_role("button", name="Export Top agents as CSV"))
    assert [(r["Agent ID"], r["Agent"], r["Credits"]) for r in exported] == [
        (a["agentId"], a["agentName"] or "", f"{Decimal(repr(a['creditsProcessed'])):f}")
        for a in agents
    ]
    # Twelve runs of 0.1 credits: exactly 1.2, never 1.2000000000000002.
    assert ("agt-invoice", "Invoice Processor", "1.2") in {
        (r["Agent ID"], r["Agent"], r["Credits"]) for r in exported
    }

    # In Initech Ada is an admin: the details are refused, the combined figures are shown.
    choose_organizations(page, "Initech")
    refused = server.graphql(ada, AI_DETAILS, {"org": INITECH})
    assert refused["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    theirs = gql(server, ada, AI_COMBINED, orgs=[INITECH])["aiCreditUsageStatsCombined"]
    expect(page.get_by_test_id("ai-total")).to_have_text(credits(theirs["total"]["usage"]))
    expect(page.locator("#panel-ai")).to_contain_text("shown to super admins only")
    assert page.get_by_test_id("ai-assistants").inner_text() == credits(
        theirs["total"]["assistantsUsage"]
    )


# ------------------------------------------------------------------ no permission, expiry


def test_without_usage_statistics_anywhere_the_page_says_so(
    page: Page, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["linus"])
    expect(page.locator("#empty")).to_contain_text("No usage statistics to show")
    expect(page.locator("#tabs")).to_be_hidden()
    page.get_by_role("button", name="Sign in with another token").click()
    expect(page.locator("#signin")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('tallyboard.token')") is None


def test_an_expired_token_signs_out_with_a_message(
    page: Page, server: LiveServer, tokens: dict[str, str]
) -> None:
    sign_in(page, tokens["Short lived"])
    expect(page.locator("#org-picker .picker-static")).to_have_text("Billing only")
    expect(page.get_by_test_id("api-total")).to_be_visible()
    expect(page.locator("#credential")).to_have_text("Service account")
    try:
        server.clock.set(DEFAULT_NOW + timedelta(minutes=6))
        page.get_by_role("button", name="Last month").click()
        expect(page.locator("#signin")).to_be_visible()
        expect(page.locator("#signin-message")).to_contain_text("session has ended")
        assert page.evaluate("sessionStorage.getItem('tallyboard.token')") is None
    finally:
        server.clock.set(DEFAULT_NOW)


def test_signing_out_forgets_the_token(page: Page, tokens: dict[str, str]) -> None:
    sign_in(page, tokens["ada"])
    expect(page.get_by_test_id("api-total")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#signin-message")).to_have_text("You are signed out.")
    assert page.evaluate("sessionStorage.getItem('tallyboard.token')") is None
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
