"""GraphiQL's page and assets come from this origin under a policy that allows nothing
else (issue 11, item 16); POST /graphql is unaffected by the page sharing its path."""

from __future__ import annotations

import re

from tests.support.harness import Harness


def policy_of(response: object) -> dict[str, str]:
    header: str = response.headers["content-security-policy"]  # type: ignore[attr-defined]
    return dict(part.strip().split(" ", 1) for part in header.split(";"))


def test_the_page_allows_scripts_styles_and_connections_to_this_origin_only(
    harness: Harness,
) -> None:
    response = harness.http.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = policy_of(response)
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["font-src"] == "'self' data:"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "unpkg" not in response.text and "jsdelivr" not in response.text


def test_every_asset_the_page_names_is_served_as_what_it_is(harness: Harness) -> None:
    page = harness.http.get("/graphql").text
    kinds = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    references = re.findall(r'(?:src|href)="(/[^"]+)"', page)
    assert len(references) >= 6
    for reference in references:
        asset = harness.http.get(reference)
        assert asset.status_code == 200, reference
        suffix = reference[reference.rindex(".") :]
        assert kinds[suffix] in asset.headers["content-type"], reference
        assert asset.headers["x-content-type-options"] == "nosniff"
    assert harness.http.get("/graphiql/vendor/missing.js").status_code == 404
    # The page is reachable as a file too: it carries the same policy there.
    assert policy_of(harness.http.get("/graphiql/index.html")) == policy_of(
        harness.http.get("/graphql")
    )


def test_post_still_reaches_the_api(harness: Harness) -> None:
    response = harness.http.post("/graphql", json={"query": "{ __typename }"})
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
