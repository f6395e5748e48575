"""The Automations tab, the AI agents table and the allowance notes, in real headless
Chromium against a real server (uvicorn in a thread), as tests/e2e/test_dashboard.py
(both drive the page through tests/support/dashboard.py).

Every figure the page shows is compared with the GraphQL API's own answer for the
same credential; the browser's token bills its calls to an organization it only
belongs to as a member, and metering flushes every 60 s, so the page's own requests
never move the numbers under comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import chromium, chromium_or_skip
from tests.support.dashboard import (
    ACME,
    ADA,
    BILLING,
    GLOBEX,
    INITECH,
    choose_organizations,
    credits,
    dashboard_page,
    gql,
    seeded_server,
    sign_in,
    table_rows,
)
from tests.support.harness import DEFAULT_NOW, LiveServer
from tests.support.usage import ai_credit, api_call, automation_job

pytestmark = [pytest.mark.browser, pytest.mark.sqlite]

NOVEMBER = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
PIPES = [
    {"id": "p-sales", "uuid": "0b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e11", "name": "Sales"},
    {"id": "p-support", "uuid": "1b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e12", "name": "Support"},
    {"id": "p-ops", "uuid": "2b7c3c9e-5f0e-4a53-9d43-4b8c3a1f2e13", "name": "Ops"},
]
ACTIONS = ["create_card", "move_card", "send_email"]
EVENTS = ["card_created", "card_moved", "form_submitted", "due_date"]
AUTOMATIONS: list[dict[str, Any]] = [
    {
        "id": f"a{n:02d}",
        "name": f"{('Route', 'Notify', 'Archive', 'Assign')[n % 4]} rule {n:02d}",
        "action": ACTIONS[n % 3],
        "event": EVENTS[n % 4],
        "status": "inactive" if n % 5 == 4 else "active",
        "eventPipe": PIPES[n % 3]["id"],
        "actionPipe": PIPES[(n + 1) % 3]["id"],
        "tags": [("crm", "ops")[n % 2], *(["vip"] if n % 6 == 0 else [])],
        "createdBy": "ada@example.test",
        "createdAt": f"2026-0{n % 9 + 1}-0{n % 9 + 1}T08:00:00Z",
    }
    for n in range(25)
]
ALERTS = {"thresholds": [50, 80, 100], "forecast": True}

DOCUMENT: dict[str, Any] = {
    "organizations": [
        {
            "id": "1001",
            "uuid": ACME,
            "name": "Acme Corp",
            "settings": [
                {
                    "effectiveFrom": "2026-09",
                    "allowances": {"apiCalls": 100, "automationJobs": 100, "aiCredits": 10},
                    "aiAutomationEnabled": True,
                }
            ],
            "alerts": ALERTS,
            "pipes": PIPES,
            "automations": AUTOMATIONS,
            "agents": [
                {
                    "id": "agt-invoice",
                    "name": "Invoice Processor",
                    "action": "create_card",
                    "event": "email_received",
                    "eventPipe": "p-sales",
                    "tags": ["finance"],
                },
                {"id": "agt-old", "name": "Old Bot", "deleted": True},
            ],
        },
        {
            "id": "1002",
            "uuid": GLOBEX,
            "name": "Globex",
            "pipes": [{"id": "g-orders", "name": "Orders"}],
            "automations": [
                {"id": "g1", "name": "Ship orders", "action": "move_card", "event": "card_moved"},
                {
                    "id": "g2",
                    "name": "Invoice orders",
                    "action": "send_email",
                    "event": "due_date",
                    "eventPipe": "g-orders",
                },
            ],
        },
        {"id": "1003", "uuid": INITECH, "name": "Initech"},
        {"id": "1004", "uuid": BILLING, "name": "Billing only"},
    ],
    "users": [ADA],
}


def _events() -> list[dict[str, Any]]:
    day = timedelta(days=1)
    events: list[dict[str, Any]] = []
    for n in range(20):
        at = DEFAULT_NOW - (n % 10) * day - timedelta(hours=n % 3)
        events.append(automation_job(ACME, at, f"a{n:02d}", n % 7 + 1))
    events.append(
        automation_job(ACME, DEFAULT_NOW - 2 * day, "ev-1", 10, automation_name="Webhook relay")
    )
    events.append(automation_job(ACME, DEFAULT_NOW - 30 * day, "a03", 20))
    events.append(automation_job(GLOBEX, DEFAULT_NOW - day, "g1", 7))
    events.append(automation_job(GLOBEX, DEFAULT_NOW - 3 * day, "g2", 12))
    events.append(
        automation_job(INITECH, DEFAULT_NOW - day, "i1", 3, automation_name="Initech rule")
    )
    events.append(api_call(ACME, DEFAULT_NOW - day, operation_name="GetCards", count=90))
    for n in range(5):
        events.append(ai_credit(ACME, DEFAULT_NOW - n * day, 0.1, agent_id="agt-invoice"))
    events.append(ai_credit(ACME, DEFAULT_NOW - day, 0.3, agent_id="agt-old"))
    events.append(ai_credit(ACME, DEFAULT_NOW - day, 0.25, agent_id="agt-new", agent_name="New"))
    return events


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(chromium_or_skip()) as launched:
        yield launched


@dataclass
class Seeded:
    server: LiveServer
    token: str


@pytest.fixture(scope="module")
def seeded(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    directory = tmp_path_factory.mktemp("automations")
    with seeded_server(_sqlite_template, directory, DOCUMENT, _events()) as world:
        tokens = world.server.personal_tokens(world.secrets)
        yield Seeded(world.server, tokens["ada@example.test/Browser"])


@pytest.fixture
def page(browser: Browser, seeded: Seeded) -> Iterator[Page]:
    with dashboard_page(browser, seeded.server.base_url) as page:
        yield page


def ask(seeded: Seeded, query: str, **variables: Any) -> dict[str, Any]:
    return gql(seeded.server, seeded.token, query, **variables)


def percent(ratio: float) -> str:
    """formatPercent of format.js."""
    value = ratio * 100
    return f"{value:.0f}%" if value >= 100 or value == 0 else f"{value:.1f}%"


def expected_notes(seeded: Seeded, org: str, resource: str) -> list[str]:
    """The allowance notes the page must show, from usageAlerts and usageForecast."""
    answer = ask(seeded, STATUS, org=org)
    months: dict[str, set[int]] = {}
    for alert in answer["usageAlerts"]:
        if alert["resource"] == resource and alert["type"] == "usage.threshold_crossed":
            months.setdefault(alert["month"], set()).add(alert["threshold"])
    lines = [
        f"Reached {', '.join(f'{t}%' for t in sorted(ts))} in Nov 2026"
        for month, ts in sorted(months.items(), reverse=True)
        if month == "2026-11"
    ]
    row = next(r for r in answer["usageForecast"]["resources"] if r["resource"] == resource)
    assert row["projectedUsage"] is not None and row["usage"] < row["limit"]
    lines.append(
        f"This month: on pace to use {percent(row['projectedUsage'] / row['limit'])} by 30 Nov"
    )
    return lines


STATUS = """query Status($org: ID!) {
  usageForecast(organizationUuid: $org) { month resources { resource usage limit projectedUsage } }
  usageAlerts(organizationUuid: $org, period: current_month) { type resource month threshold }
}"""
COMBINED = """query Combined($orgs: [ID!]!, $period: PeriodFilter!) {
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: $period) {
    total { usage }
    byOrganization { organizationUuid organizationName usage }
    byPipe { pipe { name } organizationName usage }
    topAutomations { id name usage status organizationName }
  }
}"""
DETAILS = """query Details($org: ID!, $range: DateRange!, $search: String, $filters: FilterParams,
    $sort: SortCriteria, $first: Int) {
  automationsUsageDetails(organizationUuid: $org, filterDate: $range, search: $search,
      filters: $filters, sort: $sort) {
    usage
    availableFilters { action event status tags pipes { uuid name } }
    automations(first: $first) { totalCount nodes { id name usage } }
  }
}"""
AGENTS = """query Agents($org: ID!, $range: DateRange!) {
  agentsUsageDetails(organizationUuid: $org, filterDate: $range) {
    usage
    agents { totalCount nodes { id name usage } }
  }
}"""


def open_automations(page: Page, seeded: Seeded) -> None:
    sign_in(page, seeded.token)
    page.get_by_role("tab", name="Automations").click()
    expect(page.locator("#panel-automations")).to_be_visible()


def shown_ids(page: Page) -> list[str]:
    table = page.get_by_test_id("automations-table")
    return [row.get_attribute("data-id") or "" for row in table.locator("tbody tr").all()]


def test_the_automations_tab_shows_the_jobs_the_api_reports(page: Page, seeded: Seeded) -> None:
    open_automations(page, seeded)
    combined = ask(seeded, COMBINED, orgs=[ACME], period="current_month")
    combined = combined["automationsUsageDetailsCombined"]
    total = combined["total"]["usage"]
    expect(page.get_by_test_id("jobs-total")).to_have_text(f"{total:,}")
    limit = next(
        r["limit"]
        for r in ask(seeded, STATUS, org=ACME)["usageForecast"]["resources"]
        if r["resource"] == "automationJobs"
    )
    panel = page.locator("#panel-automations")
    expect(panel).to_contain_text(f"{percent(total / limit)} of {int(limit):,} allowance")
    notes = page.get_by_test_id("allowance-automationJobs").locator("li")
    expect(notes).to_have_text(expected_notes(seeded, ACME, "automationJobs"))

    assert table_rows(page, "jobs-by-pipe") == [
        [p["pipe"]["name"], f"{p['usage']:,}"] for p in combined["byPipe"]
    ]
    top = table_rows(page, "top-automations")
    assert [(row[0].split("\n"), row[-1]) for row in top] == [
        ([a["name"], a["id"]], f"{a['usage']:,}") for a in combined["topAutomations"]
    ]

    # Jobs per day: every day of the month, as automationsUsageDetails counts it.
    per_day = page.get_by_test_id("jobs-per-day-table").locator("tbody tr")
    expect(per_day).to_have_count(30)
    shown = [[c.text_content() or "" for c in r.locator("td").all()] for r in per_day.all()]
    for day, (label, jobs) in enumerate(shown, start=1):
        date = f"2026-11-{day:02d}"
        answer = ask(
            seeded,
            DETAILS,
            org=ACME,
            range={"from": f"{date}T00:00:00Z", "to": f"{date}T12:00:00Z"},
        )["automationsUsageDetails"]
        assert label.endswith(f"{day} Nov 2026") and jobs == f"{answer['usage']:,}", (label, jobs)
    assert sum(int(jobs) for _, jobs in shown) == total

    # The table: every automation with its usage, as the API lists it.
    details = ask(seeded, DETAILS, org=ACME, range=NOVEMBER, first=100)["automationsUsageDetails"]
    summary = page.get_by_test_id("automations-summary")
    count = details["automations"]["totalCount"]
    expect(summary).to_have_text(f"{count} automations · {details['usage']:,} jobs")
    assert details["usage"] == total
    rows = table_rows(page, "automations-table")
    nodes = details["automations"]["nodes"][:20]
    assert [r[0].split("\n")[:2] for r in rows] == [[n["name"], n["id"]] for n in nodes]
    assert [r[3] for r in rows] == [f"{n['usage']:,}" for n in nodes]

    # Over three months: jobs per month, and the allowance only for this month.
    page.get_by_role("button", name="Last 3 months").click()
    per_month = page.get_by_test_id("jobs-per-day-table").locator("tbody tr")
    expect(per_month).to_have_count(3)
    months = [("Sep 2026", "09", "30"), ("Oct 2026", "10", "31"), ("Nov 2026", "11", "30")]
    expected = []
    for label, month, last in months:
        answer = ask(
            seeded,
            DETAILS,
            org=ACME,
            range={"from": f"2026-{month}-01T00:00:00Z", "to": f"2026-{month}-{last}T23:59:59Z"},
        )["automationsUsageDetails"]
        expected.append([label, f"{answer['usage']:,}"])
    expect(per_month).to_have_text(["".join(row) for row in expected])
    assert expected[1][1] == "20"
    quarter = ask(seeded, COMBINED, orgs=[ACME], period="last_3_months")
    usage = quarter["automationsUsageDetailsCombined"]["total"]["usage"]
    expect(page.get_by_test_id("jobs-total")).to_have_text(f"{usage:,}")
    expect(panel).to_contain_text("The allowance is shown for this month")


def test_the_automation_table_searches_filters_sorts_and_pages(page: Page, seeded: Seeded) -> None:
    open_automations(page, seeded)
    summary = page.get_by_test_id("automations-summary")
    expect(summary).to_contain_text("automations")

    def api(**variables: Any) -> dict[str, Any]:
        result: dict[str, Any] = ask(
            seeded, DETAILS, org=ACME, range=NOVEMBER, first=100, **variables
        )
        details: dict[str, Any] = result["automationsUsageDetails"]
        return details

    available = api()["availableFilters"]
    options = page.get_by_test_id("automations-filter-status").locator("option")
    expect(options).to_have_text(["All", *available["status"]])
    expect(page.get_by_test_id("automations-filter-pipe").locator("option")).to_have_text(
        ["All", *(p["name"] for p in available["pipes"])]
    )

    page.get_by_test_id("automations-search").fill("notify")
    wanted = api(search="notify")
    expect(summary).to_have_text(
        f"{wanted['automations']['totalCount']} automations · {wanted['usage']:,} jobs matching"
    )
    assert shown_ids(page) == [n["id"] for n in wanted["automations"]["nodes"]]

    page.get_by_test_id("automations-filter-status").select_option("inactive")
    wanted = api(search="notify", filters={"status": ["inactive"]})
    count = wanted["automations"]["totalCount"]
    noun = "automation" if count == 1 else "automations"
    expect(summary).to_have_text(f"{count} {noun} · {wanted['usage']:,} jobs matching")
    assert shown_ids(page) == [n["id"] for n in wanted["automations"]["nodes"]]

    page.get_by_test_id("automations-search").fill("")
    page.get_by_test_id("automations-filter-status").select_option("")
    page.get_by_test_id("automations-filter-tags").select_option("vip")
    wanted = api(filters={"tags": ["vip"]})
    expect(summary).to_have_text(
        f"{wanted['automations']['totalCount']} automations · {wanted['usage']:,} jobs matching"
    )
    assert shown_ids(page) == [n["id"] for n in wanted["automations"]["nodes"]]
    page.get_by_test_id("automations-filter-tags").select_option("")

    # Sorting by name, then paging ten at a time.
    page.get_by_test_id("automations-page-size").select_option("10")
    page.locator("[data-testid=automations-table] button[data-sort=name]").click()
    everything = api(sort={"by": "name", "order": "asc"})["automations"]["nodes"]
    expect(page.locator("th[aria-sort=ascending] button[data-sort=name]")).to_have_count(1)
    expect(page.get_by_test_id("automations-page")).to_have_text(f"1–10 of {len(everything)}")
    assert shown_ids(page) == [n["id"] for n in everything[:10]]
    page.get_by_role("button", name="Next →").click()
    expect(page.get_by_test_id("automations-page")).to_have_text(f"11–20 of {len(everything)}")
    assert shown_ids(page) == [n["id"] for n in everything[10:20]]
    page.get_by_role("button", name="← Previous").click()
    expect(page.get_by_test_id("automations-page")).to_have_text(f"1–10 of {len(everything)}")
    page.locator("[data-testid=automations-table] button[data-sort=name]").click()
    backwards = api(sort={"by": "name", "order": "desc"})["automations"]["nodes"]
    expect(page.locator("th[aria-sort=descending] button[data-sort=name]")).to_have_count(1)
    expect(page.locator("[data-testid=automations-table] tbody tr").first).to_have_attribute(
        "data-id", backwards[0]["id"]
    )
    assert shown_ids(page) == [n["id"] for n in backwards[:10]]


def test_several_organizations_use_the_combined_query(page: Page, seeded: Seeded) -> None:
    open_automations(page, seeded)
    choose_organizations(page, "Acme Corp", "Globex", "Initech")
    orgs = [ACME, GLOBEX, INITECH]
    combined = ask(seeded, COMBINED, orgs=orgs, period="current_month")
    combined = combined["automationsUsageDetailsCombined"]
    expect(page.get_by_test_id("jobs-total")).to_have_text(f"{combined['total']['usage']:,}")
    expect(page.locator("#panel-automations")).to_contain_text(
        "Allowances are shown for one organization at a time"
    )
    assert [r[:2] for r in table_rows(page, "jobs-by-organization")] == [
        [o["organizationName"], f"{o['usage']:,}"] for o in combined["byOrganization"]
    ]
    assert table_rows(page, "jobs-by-pipe") == [
        [p["pipe"]["name"], p["organizationName"], f"{p['usage']:,}"] for p in combined["byPipe"]
    ]
    assert [row[-1] for row in table_rows(page, "top-automations")] == [
        f"{a['usage']:,}" for a in combined["topAutomations"]
    ]
    # The table shows one organization at a time; in Initech Ada is only an admin.
    page.get_by_test_id("automations-org").select_option(label="Globex")
    globex = ask(seeded, DETAILS, org=GLOBEX, range=NOVEMBER, first=100)["automationsUsageDetails"]
    expect(page.get_by_test_id("automations-summary")).to_have_text(
        f"{globex['automations']['totalCount']} automations · {globex['usage']:,} jobs"
    )
    page.get_by_test_id("automations-org").select_option(label="Initech")
    expect(page.locator("#panel-automations")).to_contain_text(
        "needs the super admin role in Initech"
    )


def test_the_agents_table_and_the_allowance_notes_of_the_other_tabs(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.token)
    notes = page.get_by_test_id("allowance-apiCalls").locator("li")
    expect(notes).to_have_text(expected_notes(seeded, ACME, "apiCalls"))

    page.get_by_role("tab", name="AI credits").click()
    answer = ask(seeded, AGENTS, org=ACME, range=NOVEMBER)["agentsUsageDetails"]
    summary = page.get_by_test_id("agents-summary")
    count = answer["agents"]["totalCount"]
    expect(summary).to_have_text(f"{count} agents · {credits(answer['usage'])} credits")
    rows = table_rows(page, "agents-table")
    nodes = answer["agents"]["nodes"]
    assert [r[0].split("\n")[:2] for r in rows] == [
        [n["name"] or "Deleted agent", n["id"]] for n in nodes
    ]
    assert [r[3] for r in rows] == [credits(n["usage"]) for n in nodes]
    expect(page.get_by_test_id("allowance-aiCredits").locator("li")).to_have_count(1)
