"""The dashboard's export buttons in real headless Chromium against a real server: the
Automations tab's jobs workbook and the header's usage report (spec §9 "Exports").

Each test clicks the button, watches the status the page shows while the server's
builder works, lets the page download the file through the signed link, opens the
real file (openpyxl, ``csv``) and compares its rows with the GraphQL API's answers for
the same credential. The browser's token bills its calls to an organization it cannot
see, so the page's own requests never move the figures under comparison.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from tallyboard.exports.reports import AUTOMATIONS_HEADER, JOBS_HEADER, USAGE_HEADER
from tests.support.browser import chromium, chromium_or_skip
from tests.support.dashboard import (
    ACME,
    ADA,
    BILLING,
    GLOBEX,
    INITECH,
    choose_organizations,
    dashboard_page,
    gql,
    seeded_server,
    sign_in,
)
from tests.support.harness import DEFAULT_NOW, LiveServer
from tests.support.usage import ai_credit, api_call, automation_job, integration_task

pytestmark = [pytest.mark.browser, pytest.mark.sqlite]

NOVEMBER = {"from": "2026-11-01T00:00:00Z", "to": "2026-11-30T23:59:59Z"}
RESOURCES = ["apiCalls", "integrationTasks", "aiCredits", "automationJobs"]

DOCUMENT: dict[str, Any] = {
    "organizations": [
        {
            "id": "1001",
            "uuid": ACME,
            "name": "Acme Corp",
            "settings": [
                {
                    "effectiveFrom": "2026-09",
                    "allowances": {
                        "apiCalls": 5000,
                        "integrationTasks": 900,
                        "aiCredits": 10.5,
                        "automationJobs": 100,
                    },
                    "aiAutomationEnabled": True,
                    "assistantsEnabled": True,
                }
            ],
            "pipes": [{"id": "p-sales", "name": "Sales"}, {"id": "p-support", "name": "Support"}],
            "automations": [
                {
                    "id": "a1",
                    "name": "Route leads",
                    "action": "create_card",
                    "event": "form_submitted",
                    "eventPipe": "p-sales",
                    "actionPipe": "p-support",
                },
                {
                    "id": "a2",
                    "name": "Notify owner",
                    "action": "send_email",
                    "event": "card_moved",
                    "eventPipe": "p-support",
                },
                {"id": "a3", "name": "Archive done", "action": "move_card", "event": "card_done"},
            ],
            "agents": [{"id": "agt-1", "name": "Invoice bot"}],
        },
        {"id": "1002", "uuid": GLOBEX, "name": "Globex"},
        {"id": "1003", "uuid": INITECH, "name": "Initech"},
        {"id": "1004", "uuid": BILLING, "name": "Billing only"},
    ],
    "users": [ADA],
}


def _events() -> list[dict[str, Any]]:
    day = timedelta(days=1)
    now = DEFAULT_NOW
    return [
        automation_job(ACME, now - day, "a1", 3),
        automation_job(ACME, now - 2 * day, "a1", 2),
        automation_job(ACME, now - day - timedelta(hours=3), "a2", 5),
        automation_job(ACME, now - 5 * day, "a3", 1),
        automation_job(ACME, now - 3 * day, "ev-x", 4, automation_name="Webhook relay"),
        automation_job(ACME, now - 30 * day, "a1", 7),
        automation_job(GLOBEX, now - day, "g1", 6, automation_name="Ship orders"),
        api_call(ACME, now - day, operation_name="GetCards", count=40),
        api_call(ACME, now - 4 * day, operation_name="CreateCard", count=12),
        api_call(GLOBEX, now - 2 * day, count=9),
        integration_task(ACME, now - day, "f1", 20, flow_name="Sync"),
        integration_task(ACME, now - 6 * day, "f1", 5),
        ai_credit(ACME, now - day, 0.1, agent_id="agt-1"),
        ai_credit(ACME, now - 2 * day, 0.2, agent_id="agt-1"),
        ai_credit(ACME, now - day, 1.25),
        ai_credit(GLOBEX, now - day, 0.3),
    ]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium(chromium_or_skip()) as launched:
        yield launched


@dataclass
class Seeded:
    server: LiveServer
    token: str


def _seed(template: Path, directory: Path, **settings: Any) -> Iterator[Seeded]:
    with seeded_server(template, directory, DOCUMENT, _events(), **settings) as world:
        tokens = world.server.personal_tokens(world.secrets)
        yield Seeded(world.server, tokens["ada@example.test/Browser"])


@pytest.fixture(scope="module")
def seeded(_sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    yield from _seed(_sqlite_template, tmp_path_factory.mktemp("exports"))


@pytest.fixture
def page(browser: Browser, seeded: Seeded) -> Iterator[Page]:
    with dashboard_page(browser, seeded.server.base_url) as page:
        yield page


def ask(seeded: Seeded, query: str, **variables: Any) -> dict[str, Any]:
    return gql(seeded.server, seeded.token, query, **variables)


DETAILS = """query($org: ID!, $range: DateRange!) {
  automationsUsageDetails(organizationUuid: $org, filterDate: $range) {
    usage
    automations(first: 100) {
      nodes { id name usage action event actionRepo { name } eventRepo { name } }
    }
  }
}"""


def _sheet(path: Path, name: str) -> list[tuple[Any, ...]]:
    # Playwright keeps downloads under names without an extension: open the bytes.
    workbook = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    try:
        return [tuple(row) for row in workbook[name].iter_rows(values_only=True)]
    finally:
        workbook.close()


def test_the_jobs_export_shows_its_progress_and_downloads_the_workbook(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.token)
    page.get_by_role("tab", name="Automations").click()
    button = page.get_by_role("button", name="Export jobs (XLSX)")
    expect(button).to_have_accessible_description(
        "Every automation job of Acme Corp, this month, as an Excel workbook"
    )
    status = page.get_by_test_id("jobs-export-status")
    with page.expect_download() as info:
        button.click()
        expect(status).to_have_text("Jobs of Acme Corp, this month: waiting to be built…")
        expect(button).to_be_disabled()
    expect(status).to_have_text("Jobs of Acme Corp, this month: ready; the download has started.")
    expect(button).to_be_enabled()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    path = Path(download.path())

    details = ask(seeded, DETAILS, org=ACME, range=NOVEMBER)["automationsUsageDetails"]
    nodes = details["automations"]["nodes"]
    automations = _sheet(path, "Automations")
    assert automations[0] == AUTOMATIONS_HEADER
    # Jobs descending then id: the API's default order too.
    assert automations[1:] == [(n["id"], n["name"], n["usage"]) for n in nodes if n["usage"]]

    jobs = _sheet(path, "Jobs")
    assert jobs[0] == JOBS_HEADER
    by_id = {n["id"]: n for n in nodes}
    for _, automation, name, action, event, event_pipe, action_pipe, _ in jobs[1:]:
        node = by_id[automation]
        assert (name, action, event) == (node["name"], node["action"], node["event"])
        assert event_pipe == (node["eventRepo"] or {}).get("name")
        assert action_pipe == (node["actionRepo"] or {}).get("name")
    times = [row[0] for row in jobs[1:]]
    assert times == sorted(times)
    per_day: Counter[str] = Counter()
    for row in jobs[1:]:
        per_day[row[0][:10]] += row[-1]
    for date, count in per_day.items():
        day = {"from": f"{date}T00:00:00Z", "to": f"{date}T23:59:59Z"}
        assert (
            ask(seeded, DETAILS, org=ACME, range=day)["automationsUsageDetails"]["usage"] == count
        )
    assert sum(per_day.values()) == details["usage"] > 0

    # The file stays offered through the signed link.
    link = page.get_by_test_id("jobs-export-link")
    expect(link).to_be_visible()
    assert (link.get_attribute("href") or "").startswith(f"{seeded.server.base_url}/v1/exports/")
    with page.expect_download() as again:
        link.click()
    assert Path(again.value.path()).read_bytes() == path.read_bytes()


REPORT_FIGURES = """query($orgs: [ID!]!) {
  apiUsageStatsCombined(organizationUuids: $orgs, period: current_month) {
    byOrganization { organizationName usage limit }
  }
  aiCreditUsageStatsCombined(organizationUuids: $orgs, period: current_month) {
    byOrganization { usage limit }
  }
  automationsUsageDetailsCombined(organizationUuids: $orgs, period: current_month) {
    byOrganization { usage }
  }
}"""
ORG_FIGURES = """query($org: ID!) {
  apiUsageStatsDaily(organizationUuid: $org, period: current_month) { data { date metric } }
  integrationsUsageStats(organizationUuid: $org, period: current_month) {
    tasksConsumed { usage limit } history { nodes { date usage limit } }
  }
  usageForecast(organizationUuid: $org) { resources { resource limit } }
}"""

Row = tuple[str, str, str, str, Decimal, Decimal | None]


def _number(value: Any) -> Decimal | None:
    """A cell or an API figure as an exact number (floats by their shortest repr)."""
    if value is None or value == "":
        return None
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _as_row(cells: list[Any] | tuple[Any, ...]) -> Row:
    uuid, name, bucket, resource, usage, limit = cells
    shown = _number(usage)
    assert shown is not None
    return (uuid, name, bucket, resource, shown, _number(limit))


def _expected_report(seeded: Seeded, orgs: list[str]) -> list[Row]:
    """The report's rows as the statistics queries answer them."""
    combined = ask(seeded, REPORT_FIGURES, orgs=orgs)
    api = combined["apiUsageStatsCombined"]["byOrganization"]
    ai = combined["aiCreditUsageStatsCombined"]["byOrganization"]
    jobs = combined["automationsUsageDetailsCombined"]["byOrganization"]
    rows: list[Row] = []
    for index, org in enumerate(orgs):
        name = api[index]["organizationName"]
        mine = ask(seeded, ORG_FIGURES, org=org)
        days = sorted(item["date"] for item in mine["apiUsageStatsDaily"]["data"])
        calls = {item["date"]: item["metric"] for item in mine["apiUsageStatsDaily"]["data"]}
        tasks = mine["integrationsUsageStats"]
        history = {n["date"]: n["usage"] for n in tasks["history"]["nodes"]}
        limits = {r["resource"]: r["limit"] for r in mine["usageForecast"]["resources"]}
        per_day = {
            day: ask(
                seeded,
                DETAILS,
                org=org,
                range={"from": f"{day}T00:00:00Z", "to": f"{day}T23:59:59Z"},
            )["automationsUsageDetails"]["usage"]
            for day in days
        }
        totals = {
            "apiCalls": (api[index]["usage"], api[index]["limit"]),
            "integrationTasks": (tasks["tasksConsumed"]["usage"], tasks["tasksConsumed"]["limit"]),
            "aiCredits": (ai[index]["usage"], ai[index]["limit"]),
            "automationJobs": (jobs[index]["usage"], limits["automationJobs"]),
        }
        buckets: dict[str, dict[str, Any]] = {
            "apiCalls": calls,
            "integrationTasks": history,
            "automationJobs": per_day,
        }
        for resource in RESOURCES:
            usage, limit = totals[resource]
            for day in days:
                # No per-day AI-credit query exists: those buckets are checked by their sum.
                value = buckets[resource][day] if resource in buckets else None
                rows.append(
                    (org, name, day, resource, _number(value) or Decimal(0), _number(limit))
                )
            rows.append(
                (org, name, "total", resource, _number(usage) or Decimal(0), _number(limit))
            )
    return rows


def _without_ai_days(rows: list[Row]) -> list[Row]:
    return [
        r if r[3] != "aiCredits" or r[2] == "total" else (*r[:4], Decimal(0), r[5]) for r in rows
    ]


def test_the_usage_report_of_several_organizations_downloads_as_csv_and_xlsx(
    page: Page, seeded: Seeded
) -> None:
    sign_in(page, seeded.token)
    choose_organizations(page, "Acme Corp", "Globex")
    expect(page.locator("#subtitle")).to_contain_text("Acme Corp, Globex")
    page.get_by_label("Usage report format").select_option("CSV")
    button = page.get_by_role("button", name="Export usage report")
    expect(button).to_have_accessible_description(
        "API calls, integration tasks, AI credits and automation jobs of 2 organizations, "
        "this month"
    )
    status = page.get_by_test_id("report-export-status")
    subject = "Usage report of 2 organizations, this month (CSV)"
    with page.expect_download() as info:
        button.click()
        expect(status).to_have_text(f"{subject}: waiting to be built…")
    expect(status).to_have_text(f"{subject}: ready; the download has started.")
    assert info.value.suggested_filename.endswith(".csv")
    with open(info.value.path(), encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    assert tuple(lines[0]) == USAGE_HEADER
    shown = [_as_row(line) for line in lines[1:]]

    expected = _expected_report(seeded, [ACME, GLOBEX])
    assert _without_ai_days(shown) == expected
    for org in (ACME, GLOBEX):
        credits = [r for r in shown if r[0] == org and r[3] == "aiCredits"]
        assert sum(r[4] for r in credits[:-1]) == credits[-1][4]

    # The same report as a workbook holds the same rows.
    page.get_by_label("Usage report format").select_option("XLSX")
    with page.expect_download() as info:
        button.click()
    expect(status).to_have_text(
        "Usage report of 2 organizations, this month (XLSX): ready; the download has started."
    )
    sheet = _sheet(Path(info.value.path()), "Usage")
    assert sheet[0] == USAGE_HEADER
    assert [_as_row(row) for row in sheet[1:]] == shown


CREATE_JOBS = """mutation($org: ID!) {
  createAutomationJobsExport(input: {organizationId: $org, filter: current_month}) {
    automationJobsExport { id }
  }
}"""
READ_JOBS = """query($id: ID!) { automationJobsExport(id: $id) { status error } }"""


@pytest.fixture
def broken(_sqlite_template: Path, tmp_path: Path) -> Iterator[Seeded]:
    """A server whose export directory cannot be created: every build fails."""
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the export directory should be\n")
    yield from _seed(_sqlite_template, tmp_path, export_dir=str(blocker / "exports"))


def _failure_of_a_build(seeded: Seeded) -> str:
    """The error the API reports for a failed build, through its own export."""
    created = ask(seeded, CREATE_JOBS, org="1001")
    export_id = created["createAutomationJobsExport"]["automationJobsExport"]["id"]
    for _ in range(300):
        shown = ask(seeded, READ_JOBS, id=export_id)["automationJobsExport"]
        if shown["status"] == "failed":
            error: str = shown["error"]
            return error
        assert shown["status"] in ("created", "processing"), shown
        seeded.server.services.export_builder.run_once()
    raise AssertionError("the export never failed")


def test_a_failed_export_and_a_refused_one_show_their_errors(
    browser: Browser, broken: Seeded
) -> None:
    reason = _failure_of_a_build(broken)
    with dashboard_page(browser, broken.server.base_url) as page:
        sign_in(page, broken.token)
        page.get_by_role("tab", name="Automations").click()
        status = page.get_by_test_id("jobs-export-status")
        page.get_by_test_id("jobs-export-button").click()
        expect(status).to_have_text(f"Jobs of Acme Corp, this month: the export failed. {reason}")
        expect(status).to_have_class("export-status small error")
        expect(page.get_by_test_id("jobs-export-link")).to_be_hidden()

        # In Initech Ada is only an admin: the server refuses the export, the page says so.
        refusal = broken.server.graphql(broken.token, CREATE_JOBS, {"org": "1003"})
        message = refusal["errors"][0]["message"]
        assert refusal["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        choose_organizations(page, "Initech")
        button = page.get_by_role("button", name="Export jobs (XLSX)")
        expect(button).to_have_accessible_description(re.compile("of Initech, this month"))
        button.click()
        expect(status).to_contain_text(f"Jobs of Initech, this month: {message}")
        expect(button).to_be_enabled()


def _operation(request: Request) -> str | None:
    body = request.post_data_json if request.method == "POST" else None
    return body.get("operationName") if isinstance(body, dict) else None


def _finished(seeded: Seeded, export_id: str) -> None:
    """Wait for the server to build an export (helping its builder along)."""
    for _ in range(300):
        shown = ask(seeded, READ_JOBS, id=export_id)["automationJobsExport"]
        if shown["status"] == "finished":
            return
        seeded.server.services.export_builder.run_once()
    raise AssertionError("the export was never built")


def test_polling_backs_off_gives_up_after_ten_minutes_and_stops_once_finished(
    page: Page, seeded: Seeded
) -> None:
    """The page's clock is Playwright's, paused: timers run only when the test advances
    it. Until released, every read of the export answers "processing"."""
    page.clock.install(time=DEFAULT_NOW)
    reads: list[str] = []
    released = False

    def answer(route: Route) -> None:
        if _operation(route.request) == "DashboardJobsExport":
            sent = route.request.post_data_json
            assert sent is not None
            reads.append(sent["variables"]["id"])
            if not released:
                node = {"id": reads[-1], "status": "processing", "fileUrl": None, "error": None}
                route.fulfill(json={"data": {"automationJobsExport": node}})
                return
        route.continue_()

    page.route("**/graphql", answer)
    sign_in(page, seeded.token)
    page.get_by_role("tab", name="Automations").click()
    status = page.get_by_test_id("jobs-export-status")
    page.clock.pause_at(DEFAULT_NOW + timedelta(hours=1))
    with page.expect_response(
        lambda r: _operation(r.request) == "DashboardCreateJobsExport"
    ) as created:
        page.get_by_role("button", name="Export jobs (XLSX)").click()
    export_id = created.value.json()["data"]["createAutomationJobsExport"]["automationJobsExport"]
    export_id = export_id["id"]
    expect(status).to_have_text("Jobs of Acme Corp, this month: waiting to be built…")

    # 1 s, then 1.5 times longer each time, never more than 5 s apart.
    for count, delay in enumerate((1000, 1500, 2250, 3375, 5000, 5000), start=1):
        page.clock.run_for(delay - 1)
        page.evaluate("0")
        assert len(reads) == count - 1, (count, delay)
        with page.expect_request(lambda r: _operation(r) == "DashboardJobsExport"):
            page.clock.run_for(1)
        expect(status).to_have_text("Jobs of Acme Corp, this month: being built…")
    assert set(reads) == {export_id}

    # After ten minutes the page stops asking and offers to check again.
    page.clock.run_for(10 * 60_000)
    expect(status).to_have_text(
        "Jobs of Acme Corp, this month: still being built after 10 minutes. Check again later."
    )
    asked = len(reads)
    page.clock.run_for(60_000)
    page.evaluate("0")
    assert len(reads) == asked

    _finished(seeded, export_id)
    released = True
    with page.expect_download() as info:
        page.get_by_role("button", name="Check again").click()
        page.clock.run_for(1000)
    expect(status).to_have_text("Jobs of Acme Corp, this month: ready; the download has started.")
    assert info.value.suggested_filename.endswith(".xlsx")
    expect(page.get_by_role("button", name="Check again")).to_be_hidden()
    asked = len(reads)
    page.clock.run_for(10 * 60_000)
    page.evaluate("0")
    assert len(reads) == asked
