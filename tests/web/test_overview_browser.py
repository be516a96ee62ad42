"""The overview in a real browser (Chromium), in Japanese and English, at desktop and phone
size: the customers KPI is the store's count made from the ledger, and the charts carry the
90-day trend (not the empty charts the overview once drew). Screenshots go to
docs/screenshots/overview-<lang>-<desktop|phone>.png.
"""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Browser, Page

from .browser import LOCALES, SIZES, expect, needs_chromium, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server

pytestmark = [pytest.mark.slow, needs_chromium]


def _customers_on_day(server: Server) -> int:
    """The store's customers on DAY counted from the ledger: every demo customer has a
    creation date, so those created by the end of DAY."""
    con = server.workspace.warehouse
    created = con.to_pyarrow(con.table("customers").select("created_on")).column(0)
    return sum(1 for d in created.to_pylist() if d is not None and d <= DAY)


def _signed_in(browser: Browser, server: Server, language: str, size: str) -> Page:
    page = tab(browser, server.url, language, size)
    sign_in(page, EMAIL, PASSWORD, language, then="/")
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
        screenshot(page, f"overview-{language}-{size}")
    finally:
        page.context.close()
