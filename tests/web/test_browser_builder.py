"""The point-and-click picker and the segment page's day picker in a real browser, in Japanese
and English, at desktop (1280×800) and phone (390×844) size.

Counts the builder shows are compared with counts written in plain SQL on the ledger; the
screenshots go to docs/screenshots/ (``<flow>-<lang>-<desktop|phone>.png``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from .browser import expect, needs_chromium, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server

pytestmark = [pytest.mark.slow, needs_chromium]

# The members of each condition the picker writes, in plain SQL on the ledger (as of DAY).
_VALID_ORDERS = """
  WITH valid AS (
    SELECT o.*, row_number() OVER (PARTITION BY customer_id ORDER BY processed_at, order_id) AS n
    FROM orders o
    WHERE customer_id IS NOT NULL AND processed_on <= DATE '2025-06-30'
      AND (cancelled_on IS NULL OR cancelled_on > DATE '2025-06-30'))
"""
REGION = "SELECT customer_id FROM customers WHERE region = 'JP-13'"
LINE_TWICE = _VALID_ORDERS + """
  SELECT customer_id FROM valid WHERE channel = 'line'
  GROUP BY customer_id HAVING count(DISTINCT order_id) >= 2"""
SERUM_FIRST = _VALID_ORDERS + """
  SELECT DISTINCT v.customer_id FROM valid v JOIN order_lines l USING (order_id)
  WHERE v.n = 1 AND l.product_type = 'serum'"""


def _ids(server: Server, sql: str) -> set[str]:
    # NOTE: a cursor is a connection of its own, safe beside the server's requests.
    cursor = server.workspace.warehouse.con.cursor()  # type: ignore[attr-defined]
    try:
        return {r[0] for r in cursor.execute(sql).fetchall()}
    finally:
        cursor.close()


@pytest.fixture(params=[("ja", "desktop"), ("en", "desktop"), ("ja", "phone"), ("en", "phone")],
                ids=lambda p: "-".join(p))
def page(request: pytest.FixtureRequest, browser: Browser, server: Server) -> Iterator[Page]:
    lang, size = request.param
    page = tab(browser, server.url, lang, size, accept_downloads=True)
    sign_in(page, EMAIL, PASSWORD, lang, then="/settings")
    setattr(page, "flow_name", f"{lang}-{size}")  # noqa: B010
    try:
        yield page
    finally:
        page.context.close()


def _shot(page: Page, flow: str) -> None:
    screenshot(page, f"{flow}-{page.flow_name}")  # type: ignore[attr-defined]


def _fill_suggested(page: Page, input_selector: str, typed: str, value: str) -> None:
    """Type the start of a value and wait until the store's values offer ``value``."""
    field = page.locator(input_selector)
    field.click()
    field.fill(typed)
    expect(page.locator(f"datalist option[value='{value}']")).to_be_attached()
    field.fill(value)


def _expect_count(page: Page, expected: int) -> None:
    expect(page.locator("#count")).to_have_attribute("data-count", str(expected))


def test_the_picker_writes_functions_ordinals_and_or_groups(page: Page, server: Server) -> None:
    region, line_twice, serum_first = (_ids(server, q) for q in (REGION, LINE_TWICE, SERUM_FIRST))
    page.goto("/builder")
    query = page.locator("#query")
    # 1. An attribute whose values come from the store.
    page.select_option("#pick-what", "customer_regions")
    page.select_option("#pick-operator", "CONTAINS")
    _fill_suggested(page, "#pick-value-slot .pick-value", "jp-1", "JP-13")
    page.click("#pick-add")
    expect(query).to_have_value("customer_regions CONTAINS 'JP-13'")
    _expect_count(page, len(region))

    # 2. OR: two or more LINE orders (orders_placed with a count).
    page.select_option("#pick-what", "orders_placed")
    row = page.locator(".pick-argument-row").first
    expect(row.locator(".pick-argument")).to_have_value("channel")
    _fill_suggested(page, ".pick-argument-row >> nth=0 >> .pick-value", "li", "line")
    page.click("#pick-add-argument")
    second = page.locator(".pick-argument-row").nth(1)
    second.locator(".pick-argument").select_option("count")
    second.locator(".pick-operator").select_option(">=")
    second.locator(".pick-value").fill("２")  # a full-width digit is written plain
    page.select_option("#pick-join", "OR")
    page.click("#pick-add")
    expect(query).to_have_value(
        "customer_regions CONTAINS 'JP-13' OR orders_placed MATCHES (channel = 'line', count >= 2)")
    either = region | line_twice
    _expect_count(page, len(either))

    # 3. AND: a serum in the 1st order (products_purchased with an ordinal).
    page.select_option("#pick-what", "products_purchased")
    page.locator(".pick-argument-row .pick-argument").first.select_option("product_type")
    _fill_suggested(page, ".pick-argument-row >> nth=0 >> .pick-value", "ser", "serum")
    page.select_option("#pick-order", "= 1")
    page.select_option("#pick-join", "AND")
    page.click("#pick-add")
    expect(query).to_have_value(
        "(customer_regions CONTAINS 'JP-13' OR orders_placed MATCHES (channel = 'line', "
        "count >= 2)) AND products_purchased MATCHES (product_type = 'serum', order_number = 1)")
    _expect_count(page, len(either & serum_first))
    _shot(page, "builder-picker")

    # How the picker joins a condition to any query, hand-written ones included.
    joined = page.evaluate("""() => [
      joinCondition("a = 1 AND b = 2", "c = 3", "OR"),
      joinCondition("a = 1 AND (b = 2 OR c = 3)", "d = 4", "OR"),
      joinCondition("a = 1 OR b = 2", "c = 3", "AND"),
      joinCondition("x BETWEEN 1 AND 2", "c = 3", "OR"),
      joinCondition("t CONTAINS 'a AND b' AND u = 1", "c = 3", "OR"),
    ]""")
    assert joined == ["a = 1 AND (b = 2 OR c = 3)", "a = 1 AND (b = 2 OR c = 3 OR d = 4)",
                      "(a = 1 OR b = 2) AND c = 3", "x BETWEEN 1 AND 2 OR c = 3",
                      "t CONTAINS 'a AND b' AND (u = 1 OR c = 3)"]

    # Typing in the editor suggests names, then the store's values inside a quote.
    query.fill("")
    query.press_sequentially("customer_re")
    page.click("#query-suggestions button[data-value='customer_regions']")
    query.press_sequentially(" CONTAINS 'jp-1")
    page.click("#query-suggestions button[data-value='JP-13']")
    expect(query).to_have_value("customer_regions CONTAINS 'JP-13'")
    _expect_count(page, len(region))
    query.press_sequentially(" AND products_purchased MATCHES (ven")
    page.click("#query-suggestions button[data-value='vendor']")
    query.press_sequentially(" = 'hana")
    expect(page.locator("#query-suggestions button").first).to_have_attribute(
        "data-value", re.compile("^Hanami"))

    # Full-width typing and a yen amount are read as plain ones.
    query.fill("ａｍｏｕｎｔ＿ｓｐｅｎｔ　＞＝　¥10,000")
    expect(page.locator("#read-as")).to_contain_text("amount_spent >= 10000")
    expect(page.locator("#query-error")).to_be_hidden()
    query.fill("customer_tags CONTAINS 'ｖｉｐ'")  # text in quotes is kept: pointed out
    expect(page.locator("#full-width-note")).to_contain_text("'ｖｉｐ'")
    _expect_count(page, 0)


def test_the_segment_page_on_a_chosen_day(page: Page, server: Server) -> None:
    ws = server.workspace
    chosen = DAY - dt.timedelta(days=45)
    expected = ws.members("repeat-customers", chosen).num_rows
    page.goto("/segments/repeat-customers")
    page.fill("#day", chosen.isoformat())  # choosing a day submits the form
    expect(page).to_have_url(f"{server.url}/segments/repeat-customers?day={chosen.isoformat()}")
    expect(page.locator("#kpi-customers")).to_have_text(f"{expected:,}")
    expect(page.locator("#journeys[data-loaded='1']")).to_be_attached()
    yen = "￥" if page.evaluate("document.documentElement.lang") == "ja" else "¥"  # CLDR's
    expect(page.locator("#chart-ltv[data-rendered='1'] .ytick text").first).to_contain_text(yen)
    _shot(page, "segment-day")
    # Paging keeps the day.
    page.locator(".pager a").last.click()
    expect(page).to_have_url(f"{server.url}/segments/repeat-customers?q=&p=2"
                             f"&day={chosen.isoformat()}#members")
    expect(page.locator("#day")).to_have_value(chosen.isoformat())
    # Nobody in "first-time customers" has a 2nd order: the journeys say so.
    page.goto("/segments/first-time-customers")
    expect(page.locator("#no-second-orders")).to_be_visible()
    expect(page.locator("#chart-days-to-second")).to_have_count(0)
    # A day outside the history shows the last day with a notice.
    page.goto("/segments/repeat-customers?day=1999-01-01")
    expect(page.locator("#day-notice")).to_be_visible()
    expect(page.locator("#day")).to_have_value(DAY.isoformat())
