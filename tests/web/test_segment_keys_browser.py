"""In a real browser, in Japanese and English, at desktop (1280×800) and phone (390×844) size:
change a segment's key in the builder (a taken key is flagged before saving), land on its new
address, then press "Recompute history" and follow the background job's progress.

Screenshots: docs/screenshots/segment-key-<lang>-<size>.png (the builder with the key field)
and recompute-<lang>-<size>.png (the job panel on the segment page).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .browser import SIZES, expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, saved

pytestmark = [pytest.mark.slow, needs_chromium]

WORDS = {
    "en": {"help": "Changing the key changes the segment's address",
           "taken": "This key is already used by another segment.",
           "job": "Recomputing history", "button": "Recompute history"},
    "ja": {"help": "キーを変えるとセグメントのURLが変わります",
           "taken": "このキーは別のセグメントが使っています。",
           "job": "履歴の再計算", "button": "履歴を再計算"},
}

@pytest.fixture
def api(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {server.token}"}) as client:
        yield client


def _browser_page(browser: Browser, server: Server, lang: str, size: str) -> Iterator[Page]:
    page = tab(browser, server.url, lang, size)
    sign_in(page, EMAIL, PASSWORD, lang, then="/settings")
    try:
        yield page
    finally:
        page.context.close()


def _fits(page: Page, size: str) -> None:
    if size == "phone":
        width = page_width(page)
        assert width <= SIZES["phone"]["width"], width


def _finished(api: httpx.Client, key: str) -> dict[str, object]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = [j for j in api.get("/api/jobs").json()["jobs"]
                if j["kind"] == "recompute" and j["subject"] == key]
        if jobs and jobs[0]["status"] in ("succeeded", "failed"):
            return dict(jobs[0])
        time.sleep(0.2)
    raise AssertionError("the recompute did not finish")


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_change_the_key_then_recompute(browser: Browser, server: Server, api: httpx.Client,
                                       lang: str, size: str) -> None:
    words = WORDS[lang]
    key, new = f"keys-{lang}-{size}", f"keys-{lang}-{size}-renamed"
    created = api.post("/api/segments", json={
        "key": key, "display_name": f"キー確認 {lang} {size}", "query": "number_of_orders >= 2"})
    customers = saved(api, created)["segment"]["customers"]
    ledger = server.workspace.segment(key).membership_key
    for page in _browser_page(browser, server, lang, size):
        page.goto(f"/builder?segment={key}")
        field = page.locator("#key")
        expect(field).to_have_value(key)
        expect(field).to_be_editable()
        expect(page.locator("#key-help")).to_contain_text(words["help"])
        field.fill("repeat-customers")  # another segment's key: flagged, saving disabled
        expect(page.locator("#name-error")).to_contain_text(words["taken"])
        expect(page.locator("#save")).to_be_disabled()
        field.fill(new)
        expect(page.locator("#name-error")).to_be_hidden()
        expect(page.locator("#save")).to_be_enabled()
        field.scroll_into_view_if_needed()
        _fits(page, size)
        screenshot(page, f"segment-key-{lang}-{size}")
        page.click("#save")
        page.wait_for_url(f"**/segments/{new}")
        expect(page.locator("#segment-key")).to_have_text(new)
        expect(page.locator("#kpi-customers")).to_have_text(f"{customers:,}")

        button = page.locator("#recompute")
        expect(button).to_have_text(words["button"])
        button.click()
        expect(page.locator("#job-kind")).to_contain_text(words["job"])
        expect(page.locator("#job-kind")).to_contain_text(new)
        page.locator("#job").scroll_into_view_if_needed()
        _fits(page, size)
        screenshot(page, f"recompute-{lang}-{size}")
        assert _finished(api, new)["status"] == "succeeded"
        # The page reloads when the job succeeds: the new history, the button ready again.
        expect(page.locator("#job")).to_be_hidden()
        expect(page.locator("#recompute")).to_be_enabled()
        expect(page.locator("#kpi-customers")).to_have_text(f"{customers:,}")
    assert server.workspace.segment(new).membership_key != ledger
