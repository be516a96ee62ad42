"""The overview in a real browser (Chromium), in Japanese and English, at desktop and phone
size: the customers KPI is the store's count made from the ledger, and the charts carry the
90-day trend (not the empty charts the overview once drew). Screenshots go to
docs/screenshots/overview-<lang>-<desktop|phone>.png.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import DAY, EMAIL, PASSWORD, Server

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOCALES = {"en": "en-US", "ja": "ja-JP"}

if not CHROMIUM.exists():  # pragma: no cover - scripts/test installs it
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=ARGS)
        yield chromium
        chromium.close()


def _customers_on_day(server: Server) -> int:
    """The store's customers on DAY counted from the ledger: every demo customer has a
    creation date, so those created by the end of DAY."""
    con = server.workspace.warehouse
    created = con.to_pyarrow(con.table("customers").select("created_on")).column(0)
    return sum(1 for d in created.to_pylist() if d is not None and d <= DAY)


def _signed_in(browser: Browser, server: Server, language: str, size: str) -> Page:
    context = browser.new_context(base_url=server.url, locale=LOCALES[language],
                                  viewport=SIZES[size])
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    page.goto(f"/lang/{language}?next=/")
    return page


@pytest.mark.parametrize("size", sorted(SIZES))
@pytest.mark.parametrize("language", sorted(LOCALES))
def test_overview_shows_the_store(browser: Browser, server: Server, language: str,
                                  size: str) -> None:
    expected = _customers_on_day(server)
    assert expected > 300
    page = _signed_in(browser, server, language, size)
    try:
        expect(page.locator("html")).to_have_attribute("lang", language)
        value = page.locator("[data-kpi='customers'] .value")
        expect(value).to_have_text(re.compile(rf"^\s*{expected:,}\s*$"))
        chart = page.locator("#chart-customers")
        expect(page.locator("#chart-customers[data-rendered='1']")).to_be_attached()
        figure = json.loads(chart.get_attribute("data-figure") or "{}")
        ys = figure["data"][0]["y"]
        assert len(ys) == 90 and ys[-1] == expected and min(ys) > 0
        title = "顧客数" if language == "ja" else "Customers"
        expect(page.locator("[data-kpi='customers'] .label")).to_contain_text(title)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"overview-{language}-{size}.png"))
    finally:
        page.context.close()
