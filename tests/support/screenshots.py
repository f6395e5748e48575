"""Screenshots of every dashboard tab at laptop and phone width, from the demo data set.

    python -m tests.support.screenshots [DIRECTORY]     (``make screenshots``)

The demo is built for a fixed moment and served with that clock (and with a metering
flush interval longer than a run, so the dashboard's own calls stay out of the figures),
with reduced motion (no transition caught half-way): the pictures do not drift with the
calendar, and change when the dashboard or the demo does.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Browser

from tallyboard.demo.builder import build_demo
from tallyboard.domain.clock import FixedClock
from tallyboard.settings import Settings
from tests.support.browser import CHROMIUM, chromium
from tests.support.dashboard import choose_organizations, settled, sign_in
from tests.support.harness import LiveServer

MOMENT = datetime(2026, 11, 21, 16, 20, tzinfo=UTC)
VIEWPORTS = {"laptop": (1280, 800), "phone": (390, 844)}
TABS = {
    # file name: (tab, organizations to pick (none: the first one), period)
    "api-calls": ("API calls", [], "This month"),
    "integrations": ("Integrations", [], "This month"),
    "automations": ("Automations", [], "This month"),
    "ai-credits": (
        "AI credits",
        ["Acme Corp", "Globex", "Initech", "Umbrella Labs"],
        "Last 3 months",
    ),
}


def _shoot(browser: Browser, base_url: str, token: str, out: Path) -> list[Path]:
    written = []
    for device, (width, height) in VIEWPORTS.items():
        for name, (tab, organizations, period) in TABS.items():
            # Reduced motion: no transition is ever caught half-way.
            context = browser.new_context(
                base_url=base_url,
                viewport={"width": width, "height": height},
                reduced_motion="reduce",
            )
            page = context.new_page()
            sign_in(page, token)
            settled(page)
            if organizations:
                choose_organizations(page, *organizations)
                settled(page)
            page.get_by_role("tab", name=tab).click()
            page.get_by_role("button", name=period).click()
            settled(page)
            page.mouse.move(0, 0)
            path = out / f"{name}-{device}.png"
            page.screenshot(path=str(path), full_page=True)
            written.append(path)
            context.close()
    return written


def main(out: Path) -> None:
    if not CHROMIUM.exists():
        sys.exit(f"Chromium is needed at {CHROMIUM}: apt-get install -y chromium")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        path = Path(work) / "demo.db"
        url = f"sqlite:///{path}"
        build = build_demo(path, Settings(database_url=url), FixedClock(MOMENT))
        server = LiveServer(url, now=MOMENT, flush_interval=60)
        with server.running(), chromium() as browser:
            for written in _shoot(browser, server.base_url, build.sign_ins[0].token, out):
                print(written)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
