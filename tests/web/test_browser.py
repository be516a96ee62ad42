"""The web app in a real browser: Debian's Chromium driven by Playwright.

One manager's session: sign in, start a segment from a template, mistype the query and see the
inline error, fix it and watch the count, save and find it with its charts, switch to Japanese,
download the members as CSV. Screenshots of each page go to ``test-artifacts/``.

Needs /usr/bin/chromium (``scripts/test`` installs it); never ``playwright install``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from .browser import expect, needs_chromium, tab
from .conftest import DAY, EMAIL, PASSWORD, Server

pytestmark = [pytest.mark.slow, needs_chromium]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def page(browser: Browser, server: Server) -> Iterator[Page]:
    ARTIFACTS.mkdir(exist_ok=True)
    page = tab(browser, server.url, viewport={"width": 1366, "height": 900},
               accept_downloads=True)
    try:
        yield page
    finally:
        page.context.close()


def _shot(page: Page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _sign_in(page: Page) -> None:
    page.goto("/segments")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    _shot(page, "login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("table#segments")).to_be_visible()


def test_a_managers_session(page: Page, server: Server) -> None:
    ws = server.workspace
    expected = ws.members("repeat-customers", DAY).num_rows
    _sign_in(page)

    page.goto("/")
    expect(page.locator("#chart-customers[data-rendered='1']")).to_be_attached()
    _shot(page, "overview")

    # A segment from a template, then a typo, then the fix.
    page.goto("/builder")
    page.click("button.template[data-name='line-repeaters']")
    expect(page.locator("#query")).to_have_value(
        "customer_tags CONTAINS 'line' AND number_of_orders >= 2")
    expect(page.locator("#count")).not_to_have_attribute("data-count", "")
    page.fill("#name", "browser-made")
    page.fill("#query", "number_of_ordrs >= 2")
    error = page.locator("#query-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("unknown attribute 'number_of_ordrs'")
    expect(error.locator("button.suggestion")).to_have_text("number_of_orders")
    expect(page.locator("#query-echo mark.error-span")).to_have_text("number_of_ordrs")
    _shot(page, "builder-error")
    page.fill("#query", "number_of_orders >= 2")
    expect(error).to_be_hidden()
    expect(page.locator("#count")).to_have_attribute("data-count", str(expected))
    expect(page.locator("#sample tbody tr")).to_have_count(min(10, expected))
    _shot(page, "builder-count")

    # Save: the segment page shows its computed history.
    page.click("#save")
    expect(page).to_have_url(f"{server.url}/segments/browser-made")
    for chart in ("customers", "repeat_rate", "ltv", "aov", "revenue", "joined_left"):
        expect(page.locator(f"#chart-{chart}[data-rendered='1']")).to_be_attached()
    expect(page.locator("#journeys[data-loaded='1']")).to_be_attached()
    expect(page.locator("#chart-days-to-second[data-rendered='1']")).to_be_attached()
    expect(page.locator("#kpi-customers")).to_have_text(f"{expected:,}")
    _shot(page, "segment")

    # The members CSV.
    with page.expect_download() as download:
        page.click("#csv-link")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == expected
    assert {r["Customer ID"] for r in rows} == set(
        ws.members("repeat-customers", DAY).column("customer_id").to_pylist())

    # Found in the list; then in Japanese.
    page.goto("/segments")
    expect(page.locator("tr[data-segment='browser-made']")).to_be_visible()
    _shot(page, "segments")
    page.click("#lang-ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("th").first).to_contain_text("セグメント")
    # CLDR writes yen full width in Japanese
    expect(page.locator("tr[data-segment='browser-made']")).to_contain_text("￥")
    _shot(page, "segments-ja")
    page.goto("/segments/browser-made")
    expect(page.locator("#journeys[data-loaded='1']")).to_contain_text("初回購入")
    _shot(page, "segment-ja")
    for name in ("runs", "settings"):
        page.goto(f"/{name}")
        _shot(page, f"{name}-ja")

    ws.remove_segment("browser-made")
