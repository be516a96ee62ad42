"""A Japanese (and an English) manager in a real browser, on a laptop and on a phone: the 404
page, a mistyped query in the builder (one hint, in their language), chart dates and the members
CSV that Excel opens. Screenshots go to docs/screenshots/.

Needs /usr/bin/chromium; never ``playwright install``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from .browser import SIZES, expect, needs_chromium, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server

pytestmark = [pytest.mark.slow, needs_chromium]

# What each language reads (the builder's error for "numer_of_orders >= 2").
TEXTS = {
    "ja": {"not_found": "このページは存在しません。",
           "unknown": "「numer_of_orders」という属性はありません",
           "did_you_mean": "もしかして", "csv_header": "顧客ID", "bom": True},
    "en": {"not_found": "This page does not exist.",
           "unknown": "unknown attribute 'numer_of_orders'",
           "did_you_mean": "Did you mean", "csv_header": "Customer ID", "bom": False},
}
# Tick labels of a date axis: "2025年6月" / "6月12日" in Japanese, "Jun 2025" / "Jun 12" in English.
TICKS = {"ja": re.compile(r"^(\d{4}年\d{1,2}月|\d{1,2}月\d{1,2}日)$"),
         "en": re.compile(r"^[A-Z][a-z]{2} \d{1,4}$")}


@pytest.fixture(params=[(lang, size) for lang in TEXTS for size in SIZES],
                ids=lambda p: f"{p[0]}-{p[1]}")
def session(request: pytest.FixtureRequest, browser: Browser,
            server: Server) -> Iterator[tuple[Page, str, str]]:
    """A signed-in tab in one language at one screen size."""
    lang, size = request.param
    page = tab(browser, server.url, lang, size, accept_downloads=True)
    sign_in(page, EMAIL, PASSWORD, lang)
    try:
        yield page, lang, size
    finally:
        page.context.close()


def test_errors_charts_and_csv_in_the_readers_language(session: tuple[Page, str, str]) -> None:
    page, lang, size = session
    texts = TEXTS[lang]

    def _shot(flow: str) -> None:
        screenshot(page, f"{flow}-{lang}-{size}")

    page.goto("/no-such-page")
    expect(page.locator("p.error")).to_have_text(texts["not_found"])
    _shot("not-found")

    # A typo in the builder: the message in the reader's language, the suggestion once.
    page.goto("/builder")
    page.fill("#query", "numer_of_orders >= 2")
    error = page.locator("#query-error")
    expect(error).to_contain_text(texts["unknown"])
    expect(error.locator("button.suggestion")).to_have_text("number_of_orders")
    shown = error.inner_text()
    assert shown.count(texts["did_you_mean"]) == 1
    assert "did you mean" not in shown  # the English hint is gone: the button says it
    if lang == "ja":
        assert "Did you mean" not in shown and "unknown" not in shown
    expect(error.locator(".hint")).to_have_count(0)
    _shot("builder-error")

    # Chart dates on the segment page.
    page.goto("/segments/repeat-customers")
    chart = page.locator("#chart-customers[data-rendered='1']")
    expect(chart).to_be_attached()
    ticks = [t for t in chart.locator(".xtick text").all_text_contents() if t.strip()]
    assert ticks and all(TICKS[lang].match(t) for t in ticks), ticks
    if size == "desktop":
        _shot("segment-charts")

    # The members CSV from the page's link.
    with page.expect_download() as download:
        page.click("#csv-link")
    body = Path(download.value.path()).read_bytes()
    assert body.startswith("\ufeff".encode()) is texts["bom"]
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0][0] == texts["csv_header"] and len(rows) > 1
