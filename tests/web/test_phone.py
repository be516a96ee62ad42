"""On a phone (390 × 844) no page is wider than the screen: tables scroll inside their box and
the navigation wraps. Every page, in Japanese and English, over a shop whose data is Japanese
(kanji names, long product titles, a long shop name), connected to a fake Shopify. And the
Settings page at work in a browser, at phone and desktop size, with screenshots for the docs.

Needs /usr/bin/chromium (``scripts/test`` installs it); never ``playwright install``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterator

import pyarrow as pa
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core import config
from segmentry.testing.shopify import FakeShopify
from segmentry.web.accounts import add_user

from .browser import SIZES, expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, serving_shop

pytestmark = [pytest.mark.slow, needs_chromium]

DAY = dt.date(2025, 6, 30)
PAGES = ["/", "/segments", "/builder", "/segments/repeat-customers", "/runs", "/settings",
         "/segments/no-such-segment"]


FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
GIVEN = ["美咲", "陽菜", "結衣", "さくら", "葵", "凛", "莉子", "芽依", "ひなた", "優奈"]
CITIES = ["千代田区", "横浜市中区", "大阪市北区", "札幌市中央区", "福岡市博多区"]
PRODUCT = "薬用ホワイトニング美容液 トライアルセット（30日分）詰め替え用 {n}"
VENDOR = "株式会社サンプル・ビューティーラボラトリーズ"
# Widest element that sticks out, to say *what* overflows when the check fails.
_WIDEST = """() => {
  const out = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}.${e.className}`);
  return out.slice(-5);
}"""


def _japanese(tables: dict[str, pa.Table]) -> dict[str, pa.Table]:
    """The demo store with Japanese names, cities, long product titles and vendors."""
    customers = tables["customers"]
    n = customers.num_rows
    cycle = itertools.cycle
    customers = customers.set_column(
        customers.schema.get_field_index("last_name"), "last_name",
        pa.array([f for f, _ in zip(cycle(FAMILY), range(n), strict=False)]))
    customers = customers.set_column(
        customers.schema.get_field_index("first_name"), "first_name",
        pa.array([g for g, _ in zip(cycle(GIVEN), range(n), strict=False)]))
    customers = customers.set_column(
        customers.schema.get_field_index("city"), "city",
        pa.array([c for c, _ in zip(cycle(CITIES), range(n), strict=False)]))
    result = {**tables, "customers": customers}
    for name in ("order_lines", "products"):
        table = tables[name]
        ids = table.column("product_id").to_pylist()
        result[name] = table.set_column(
            table.schema.get_field_index("title"), "title",
            pa.array([PRODUCT.format(n=int(i) % 100) for i in ids])
        ).set_column(table.schema.get_field_index("vendor"), "vendor",
                     pa.array([VENDOR] * table.num_rows))
    return result


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("web-phone") / "ws"
    ws = Workspace.create(folder, shop_id="jp",
                          shop_name="サンプル美容ストア 公式オンラインショップ（本店）")
    fake = FakeShopify(shop="sample-biyou-store-official.myshopify.com").start()
    try:
        ws.import_tables(_japanese(generate_store(300, seed=8, end_date=DAY, shop_id="jp")))
        ws.run(DAY)
        for name in ("repeat-customers", "first-time-customers"):
            ws.add_segment(name, TEMPLATES[name].query,
                           description="2回以上購入した顧客。美容液の定期便を含むすべての注文を数えます。")
        add_user(ws.state, EMAIL, PASSWORD, "jp")
        connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
        with serving_shop(ws) as server:
            yield server
    finally:
        ws.close()
        fake.stop()


def _tab(browser: Browser, shop: Server, lang: str, size: str) -> Page:
    page = tab(browser, shop.url, lang, size)
    page.context.add_cookies([{"name": "segmentry_lang", "value": lang, "url": shop.url}])
    return page


def _width(page: Page) -> int:
    """The page's width once what it fetches after loading (journeys, charts) is in."""
    with contextlib.suppress(PlaywrightTimeout):  # a page polling a job is never idle
        page.wait_for_load_state("networkidle", timeout=5_000)
    return page_width(page)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_no_page_is_wider_than_a_phone(browser: Browser, shop: Server, lang: str) -> None:
    page = _tab(browser, shop, lang, "phone")
    too_wide: dict[str, tuple[int, list[str]]] = {}
    try:
        page.goto("/login")
        if (width := _width(page)) > SIZES["phone"]["width"]:
            too_wide["/login"] = (width, page.evaluate(_WIDEST))
        sign_in(page, EMAIL, PASSWORD)
        for path in PAGES:
            page.goto(path)
            if path == "/":
                expect(page.locator(".chart[data-rendered='1']").first).to_be_attached()
            if (width := _width(page)) > SIZES["phone"]["width"]:
                too_wide[path] = (width, page.evaluate(_WIDEST))
            if path == "/segments":
                screenshot(page, f"navigation-{lang}-phone")
        assert page.locator("html").get_attribute("lang") == lang
        nav = page.locator("header.top nav")
        box = nav.bounding_box()
        assert box is not None and box["x"] + box["width"] <= SIZES["phone"]["width"]
    finally:
        page.context.close()
    assert too_wide == {}


@pytest.mark.parametrize(("lang", "size"), [("ja", "phone"), ("en", "phone"),
                                            ("ja", "desktop"), ("en", "desktop")])
def test_settings_in_a_browser(browser: Browser, shop: Server, lang: str, size: str) -> None:
    page = _tab(browser, shop, lang, size)
    words = {"ja": ("保存しました。", "manager@example.com はすでに登録されています。"),
             "en": ("Saved.", "manager@example.com already has an account.")}[lang]
    try:
        sign_in(page, EMAIL, PASSWORD)
        page.goto("/settings")
        schedule = page.locator("#schedule")
        schedule.locator("input[name=time]").fill("05:45")
        schedule.locator("button[type=submit]").click()
        expect(page.locator("#schedule .notice")).to_have_text(words[0])
        assert config.load(shop.workspace.folder).schedule.time == "05:45"  # saved
        users = page.locator("#add-user")
        users.locator("input[name=email]").fill(EMAIL)
        users.locator("input[name=password]").fill("long-enough-password")
        users.locator("button[type=submit]").click()
        expect(page.locator("#users .error")).to_have_text(words[1])
        assert _width(page) <= SIZES[size]["width"]
        page.evaluate("document.querySelector('#shopify').scrollIntoView()")
        screenshot(page, f"settings-{lang}-{size}")
    finally:
        page.context.close()
