"""What the browser tests share: Debian's Chromium driven by Playwright, a tab in one language at
one screen size, signing in, and screenshots for the docs.

Needs /usr/bin/chromium (``scripts/test`` installs it); never ``playwright install``, which
downloads a browser and fails on a closed network.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# NOTE: without the background-networking flags Chromium keeps dialling Google's hosts, which
# this closed network refuses, many at a time.
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
TIMEOUT_MS = 30_000  # a busy CI machine computes histories slowly
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
LOCALES = {"ja": "ja-JP", "en": "en-US"}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# A browser test module: ``pytestmark = [pytest.mark.slow, needs_chromium]``.
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(),
                                    reason="needs Debian's chromium at /usr/bin/chromium")

expect.set_options(timeout=TIMEOUT_MS)

__all__ = ["LOCALES", "SIZES", "chromium", "expect", "needs_chromium", "page_width", "screenshot",
           "sign_in", "tab"]


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium for the length of the ``with`` block."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def tab(browser: Browser, base_url: str, lang: str = "en", size: str = "desktop",
        **options: Any) -> Page:
    """A new tab (in a context of its own) whose browser speaks ``lang``, at ``size``."""
    settings = {"locale": LOCALES[lang], "viewport": SIZES[size], **options}
    context = browser.new_context(base_url=base_url, **settings)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


def sign_in(page: Page, email: str, password: str, lang: str | None = None,
            then: str = "/segments") -> None:
    """Sign in; with ``lang``, pick that language in the header's switch and open ``then``."""
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    if lang is not None:
        page.goto(f"/lang/{lang}?next={then}")
        expect(page.locator("html")).to_have_attribute("lang", lang)


def page_width(page: Page) -> int:
    """The page's width once it has loaded and drawn its charts (Plotly sizes a chart to its box
    while it draws; a width read before that is a loaded machine's accident)."""
    page.wait_for_load_state("load")
    page.wait_for_function("""() => !window.Plotly || [...document.querySelectorAll(
        "[data-figure]")].every((node) => node.dataset.rendered)""")
    page.evaluate("document.fonts.ready.then(() => true)")
    return int(page.evaluate("document.documentElement.scrollWidth"))


def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """``docs/screenshots/<name>.png`` (names are ``<flow>-<lang>-<desktop|phone>``)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)
