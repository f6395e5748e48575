"""GraphiQL at ``GET /graphql`` in real headless Chromium, with every request to another
origin aborted: it renders from the vendored assets alone, loads the schema, and runs a
document with the bearer token pasted into its headers editor (issue 11, item 16)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Request, Route, expect

from tests.support.browser import chromium, chromium_or_skip
from tests.support.harness import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.sqlite]


@pytest.fixture
def live(sqlite_url: str) -> Iterator[LiveServer]:
    server = LiveServer(sqlite_url, flush_interval=60)
    with server.running():
        yield server


def service_account_token(live: LiveServer) -> str:
    secrets = live.apply(
        {
            "organizations": [{"id": "5001", "name": "GraphiQL"}],
            "serviceAccounts": [
                {"organization": "5001", "name": "explorer", "role": "admin", "tokenLifetime": "1h"}
            ],
        }
    )
    return live.service_account_tokens(secrets)["explorer"]


class Traffic:
    """Every request the page makes; anything bound for another origin is aborted."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.requests: list[Request] = []
        self.foreign: list[str] = []

    def route(self, route: Route) -> None:
        request = route.request
        self.requests.append(request)
        parts = urlsplit(request.url)
        if parts.scheme in ("data", "blob") or f"{parts.scheme}://{parts.netloc}" == self.origin:
            route.continue_()
        else:
            self.foreign.append(request.url)
            route.abort()

    def graphql_posts(self) -> list[Request]:
        return [r for r in self.requests if r.method == "POST" and r.url.endswith("/graphql")]


def replace_editor_text(page: Page, editor: str, text: str) -> None:
    """Select everything in a GraphiQL (CodeMirror) editor and type ``text`` over it."""
    page.locator(f"{editor} .CodeMirror:visible").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def test_graphiql_runs_from_this_origin_alone_with_a_pasted_token(live: LiveServer) -> None:
    token = service_account_token(live)
    traffic = Traffic(live.base_url)
    console: list[str] = []
    with chromium(chromium_or_skip()) as browser:
        page = browser.new_page()
        page.route("**/*", traffic.route)
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
        page.goto(f"{live.base_url}/graphql")

        expect(page.locator(".graphiql-container")).to_be_visible(timeout=20_000)
        headers = page.locator("button[data-name=headers]")
        if "active" not in (headers.get_attribute("class") or ""):
            headers.click()
        replace_editor_text(
            page, ".graphiql-editor-tool", json.dumps({"Authorization": f"Bearer {token}"})
        )
        replace_editor_text(page, ".graphiql-query-editor", "{ __typename }")
        # GraphiQL sends the operation name it last parsed: wait until it has parsed
        # this document (the tab shows the name), or it sends "MyOrganizations".
        expect(page.locator(".graphiql-tab-button")).not_to_have_text("MyOrganizations")
        page.get_by_role("button", name="Execute query (Ctrl-Enter)").click()
        expect(page.locator(".graphiql-response")).to_contain_text('"__typename": "Query"')

        # With the token, GraphiQL's own introspection passes every limit: the
        # documentation explorer shows the schema's types and root fields.
        page.get_by_role("button", name="Re-fetch GraphQL schema").click()
        page.get_by_role("button", name="Show Documentation Explorer").click()
        explorer = page.locator(".graphiql-doc-explorer")
        expect(explorer).to_contain_text("AiCreditUsageStatsCombined")
        explorer.get_by_role("link", name="Query").click()
        expect(explorer).to_contain_text("myUsageStatsOrganizations")
        statuses = {}
        for request in traffic.graphql_posts():
            response = request.response()
            if request.headers.get("authorization") == f"Bearer {token}" and response:
                kind = "introspection" if "__schema" in (request.post_data or "") else "query"
                statuses[kind] = response.status
        assert statuses == {"query": 200, "introspection": 200}

    assert traffic.foreign == [], "requests left the origin"
    assert traffic.requests, "the page made no request at all"
    violations = [line for line in console if "Content Security Policy" in line]
    assert violations == []
    assert not [line for line in console if line.startswith("pageerror")], console
