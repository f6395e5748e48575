"""Driving the dashboard in headless Chromium: one seeded live server, a page that fails
the test on any script error, signing in and waiting for the page to settle, and
reading what it shows (tables, CSV downloads). Shared by the dashboard's browser tests
and ``make screenshots``.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.backends import copy_sqlite
from tests.support.harness import LiveServer
from tests.support.usage import record_events

__all__ = [
    "ACME",
    "ADA",
    "BILLING",
    "GLOBEX",
    "INITECH",
    "Seeded",
    "choose_organizations",
    "credits",
    "dashboard_page",
    "download_csv",
    "gql",
    "seeded_server",
    "settled",
    "sign_in",
    "table_rows",
]

# The organizations every dashboard browser test applies (ids 1001-1004 in their documents).
ACME = "8a1c4f10-1111-4d2c-9c2a-abc123def456"
GLOBEX = "b27d5e21-2222-4a3b-8d1b-def456abc789"
INITECH = "c38e6f32-3333-4b4c-9e2c-0f1a2b3c4d5e"
BILLING = "d49f7a43-4444-4c5d-8f3d-1a2b3c4d5e6f"

ADA: dict[str, Any] = {
    "email": "ada@example.test",
    "name": "Ada",
    "memberships": [
        {"organization": "1001", "role": "super_admin"},
        {"organization": "1002", "role": "super_admin"},
        {"organization": "1003", "role": "admin"},
        {"organization": "1004", "role": "member"},
    ],
    "personalTokens": [{"name": "Browser", "billingOrganization": "1004"}],
}
"""Super admin of Acme and Globex, admin of Initech, billed to "Billing only"."""


@dataclass
class Seeded:
    """A live server with a tenancy document applied and events recorded."""

    server: LiveServer
    secrets: dict[str, Any]


@contextmanager
def seeded_server(
    template: Path,
    directory: Path,
    document: Mapping[str, Any],
    events: Sequence[Mapping[str, Any]],
    **settings: Any,
) -> Iterator[Seeded]:
    """A copy of the migrated SQLite template behind a live server; metering flushes
    every 60 s, so the dashboard's own calls never move the figures under comparison."""
    url = copy_sqlite(template, directory)
    live = LiveServer(url, **{"flush_interval": 60, **settings})
    with live.running():
        secrets = live.apply(document)
        result = record_events(live, list(events))
        assert result["accepted"] == len(events) and not result["rejected"], result
        yield Seeded(live, secrets)


@contextmanager
def dashboard_page(
    browser: Browser, base_url: str, *, tolerated: Callable[[str], bool] = lambda _: False
) -> Iterator[Page]:
    """A fresh browser context on the dashboard's origin; any page error or console
    error (except those ``tolerated``) fails the test when the page closes."""
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not tolerated(message.text)
            else None
        ),
    )
    try:
        yield page
    finally:
        context.close()
    assert errors == [], errors


def settled(page: Page) -> None:
    """Every request answered and nothing on the page still marked busy."""
    page.wait_for_load_state("networkidle")
    expect(page.locator("[aria-busy=true]")).to_have_count(0)


def sign_in(page: Page, token: str) -> None:
    """Sign in with a ``#token=`` link and wait for the dashboard to show."""
    page.goto(f"/#token={token}")
    expect(page.locator("#dashboard")).to_be_visible()


def choose_organizations(page: Page, *names: str) -> None:
    page.get_by_test_id("org-picker").click()
    for box in page.locator(".org-option").all():
        box.locator("input").set_checked(box.locator(".org-name").inner_text() in names)
    page.get_by_role("button", name="Apply").click()


def table_rows(page: Page, testid: str) -> list[list[str]]:
    rows = page.get_by_test_id(testid).locator("tbody tr")
    return [[cell.inner_text().strip() for cell in row.locator("td").all()] for row in rows.all()]


def download_csv(page: Page, button: Locator) -> list[dict[str, str]]:
    with page.expect_download() as info:
        button.click()
    path = info.value.path()
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def gql(server: LiveServer, token: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = server.graphql(token, query, variables)
    assert "errors" not in answer, answer
    data: dict[str, Any] = answer["data"]
    return data


def credits(value: float) -> str:
    """How the page must show a credits value: exact decimal, grouped, no trailing zeros."""
    text = f"{Decimal(repr(value)):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
