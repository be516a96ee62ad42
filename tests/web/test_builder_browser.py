"""The builder in a real browser, in Japanese and English, on a desktop and a phone.

A manager starts from a template whose segment already exists: the builder offers a free name
and key, so saving works. A mistyped query clears the sample (and says why) instead of showing
the previous query's customers. A name another segment uses is flagged before saving. Editing
saves a changed description. A Japanese name gets a key for the address.
"""

from __future__ import annotations

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
WORDS = {
    "ja": {"title": "リピーター", "no_sample": "条件にエラーがあるためサンプルはありません",
           "same_name": "この名前のセグメントはすでにあります", "serum": "美容液リピーター"},
    "en": {"title": "Repeat customers", "no_sample": "No sample while the query has an error",
           "same_name": "A segment with this name already exists", "serum": "Serum repeaters"},
}

if not CHROMIUM.exists():  # pragma: no cover - scripts/test installs it
    pytest.skip("needs Debian's chromium at /usr/bin/chromium", allow_module_level=True)

from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(params=["desktop", "phone"])
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(server: Server, size: str) -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                             args=ARGS)
        context = browser.new_context(base_url=server.url, viewport=SIZES[size],
                                      is_mobile=size == "phone")
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        try:
            yield tab
        finally:
            context.close()
            browser.close()


def _sign_in(page: Page, lang: str) -> None:
    page.goto("/login")
    page.fill("input[name=email]", EMAIL)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"/lang/{lang}?next=/builder")
    expect(page.locator("html")).to_have_attribute("lang", lang)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_template_error_and_save_in_the_builder(
    page: Page, server: Server, lang: str, size: str
) -> None:
    words = WORDS[lang]
    expected = server.workspace.members("repeat-customers", DAY).num_rows
    _sign_in(page, lang)

    # The template's segment exists (key repeat-customers): a free key is offered.
    page.click("button.template[data-name='repeat-customers']")
    expect(page.locator("#name")).to_have_value(words["title"])
    expect(page.locator("#key")).to_have_value("repeat-customers-2")
    expect(page.locator("#count")).to_have_attribute("data-count", str(expected))
    rows = page.locator("#sample tbody tr")
    expect(rows.first).to_be_visible()

    # A mistyped query: no sample from the previous query, and the reason.
    page.fill("#query", "number_of_ordrs >= 2")
    expect(page.locator("#query-error")).to_be_visible()
    expect(rows).to_have_count(0)
    expect(page.locator("#sample-status")).to_be_visible()
    expect(page.locator("#sample-status")).to_contain_text(words["no_sample"])
    page.locator("#sample-status").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / f"builder-{lang}-{size}.png"))
    page.fill("#query", "number_of_orders >= 2")
    expect(page.locator("#query-error")).to_be_hidden()
    expect(page.locator("#sample-status")).to_be_hidden()
    expect(rows.first).to_be_visible()

    # A name another segment has is flagged before saving.
    page.fill("#name", "first-time-customers")
    expect(page.locator("#name-error")).to_contain_text(words["same_name"])
    expect(page.locator("#save")).to_be_disabled()
    page.fill("#name", words["title"])  # the key made from the name is left to the server
    expect(page.locator("#name-error")).to_be_hidden()
    page.fill("#key", "repeat-customers-2")

    page.click("#save")
    expect(page).to_have_url(f"{server.url}/segments/repeat-customers-2")
    expect(page.locator("#segment-title")).to_contain_text(words["title"])
    expect(page.locator("#kpi-customers")).to_have_text(f"{expected:,}")

    # Editing saves a changed description (the query is the same: still version 1).
    page.goto("/builder?segment=repeat-customers-2")
    expect(page.locator("#key")).to_have_value("repeat-customers-2")
    expect(page.locator("#key")).to_be_editable()  # a changed key renames it (keys browser test)
    page.fill("#description", f"edited in {lang}")
    page.click("#save")
    expect(page).to_have_url(f"{server.url}/segments/repeat-customers-2")
    expect(page.locator("main")).to_contain_text(f"edited in {lang}")
    segment = server.workspace.segment("repeat-customers-2")
    assert (segment.description, segment.version) == (f"edited in {lang}", 1)
    server.workspace.remove_segment("repeat-customers-2")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_a_name_in_the_readers_language(page: Page, server: Server, lang: str) -> None:
    name = WORDS[lang]["serum"]
    _sign_in(page, lang)
    page.fill("#name", name)
    page.fill("#query", "number_of_orders >= 2")
    expect(page.locator("#count")).not_to_have_attribute("data-count", "")
    page.click("#save")
    expect(page).to_have_url(re.compile(r"/segments/(seg-[0-9a-f]{6}|serum-repeaters)$"))
    key = page.url.rsplit("/", 1)[1]
    expect(page.locator("#segment-title")).to_contain_text(name)
    page.goto("/segments")
    expect(page.locator(f"tr[data-segment='{key}'] a")).to_have_text(name)
    server.workspace.remove_segment(key)
