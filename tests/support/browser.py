"""Headless Chromium for browser tests and screenshots: Debian's ``chromium`` driven by
Playwright (never a downloaded browser).

Locally the browser tests skip when ``/usr/bin/chromium`` is missing; under
``CI=true`` a missing Chromium fails them instead (``.ci/run`` installs it).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.backends import IN_CI

__all__ = ["CHROMIUM", "chromium", "chromium_or_skip"]

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_or_skip() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    message = f"Chromium is not installed at {CHROMIUM} (apt-get install -y chromium)"
    if IN_CI:
        pytest.fail(f"{message}; CI must run the browser tests (see .ci/run)", pytrace=False)
    pytest.skip(message)


@contextmanager
def chromium(executable: Path = CHROMIUM) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
