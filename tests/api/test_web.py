"""The dashboard's page and assets are served with their security and caching headers."""

from __future__ import annotations

import re
from importlib.resources import files

from tests.support.harness import Harness

STATIC = files("tallyboard.web").joinpath("static")


def test_the_page_forbids_inline_and_foreign_script(harness: Harness) -> None:
    response = harness.http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-cache"
    # Nothing inline for the policy to refuse: scripts and styles come from files.
    assert "<script>" not in response.text and "style=" not in response.text
    assert "<style" not in response.text


def test_assets_are_served_as_what_they_are_and_revalidated(harness: Harness) -> None:
    script = harness.http.get("/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert script.headers["x-content-type-options"] == "nosniff"
    assert script.headers["cache-control"] == "no-cache"
    assert script.headers["etag"]
    style = harness.http.get("/static/style.css")
    assert style.headers["content-type"].startswith("text/css")
    assert harness.http.get("/static/missing.js").status_code == 404


def test_every_module_the_page_imports_is_served(harness: Harness) -> None:
    """A renamed module would break the page for good: every relative import resolves."""
    modules = [entry.name for entry in STATIC.iterdir() if entry.name.endswith(".js")]
    assert "app.js" in modules
    for name in modules:
        text = STATIC.joinpath(name).read_text("utf-8")
        for target in re.findall(r"""from\s+"\./([\w.-]+)";""", text):
            assert target in modules, f"{name} imports ./{target}, which does not exist"
            assert harness.http.get(f"/static/{target}").status_code == 200
