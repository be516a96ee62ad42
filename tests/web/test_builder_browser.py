"""The builder in a real browser, in Japanese and English, on a desktop and a phone.

A manager starts from a template whose segment already exists: the builder offers a free name
and key, so saving works. A mistyped query clears the sample (and says why) instead of showing
the previous query's customers. A name another segment uses is flagged before saving. Editing
saves a changed description. A Japanese name gets a key for the address.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from .browser import expect, needs_chromium, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server, remove_segment

pytestmark = [pytest.mark.slow, needs_chromium]

WORDS = {
    "ja": {"title": "リピーター", "no_sample": "条件にエラーがあるためサンプルはありません",
           "same_name": "この名前のセグメントはすでにあります", "serum": "美容液リピーター"},
    "en": {"title": "Repeat customers", "no_sample": "No sample while the query has an error",
           "same_name": "A segment with this name already exists", "serum": "Serum repeaters"},
}


@pytest.fixture(params=["desktop", "phone"])
def size(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def page(browser: Browser, server: Server, size: str) -> Iterator[Page]:
    page = tab(browser, server.url, size=size, is_mobile=size == "phone")
    try:
        yield page
    finally:
        page.context.close()


def _sign_in(page: Page, lang: str) -> None:
    sign_in(page, EMAIL, PASSWORD, lang, then="/builder")


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
    screenshot(page, f"builder-{lang}-{size}")
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
    remove_segment(server, "repeat-customers-2")


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
    remove_segment(server, key)
