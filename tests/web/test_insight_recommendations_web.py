"""The recommendations page and its JSON twin on the demo shop (Japanese product names): the
refresh job, the popularity list against a count made from the ledger's raw rows, one
customer's list leaving out the one-time products they own, and the page on a phone in
Japanese (the evaluation chart's bars against the table's numbers)."""

from __future__ import annotations

from collections import defaultdict

import httpx
import pytest
from playwright.sync_api import Browser, Page

from .browser import expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, finished_job


def _bought(server: Server) -> dict[str, dict[str, set[str]]]:
    """customer → product → the orders they bought it in (never-cancelled orders)."""
    con = server.workspace.warehouse
    o, lines = con.table("orders"), con.table("order_lines")
    kept = o.filter(o.cancelled_at.isnull() & o.customer_id.notnull())
    joined = lines.join(kept, "order_id").select("customer_id", "product_id", "order_id")
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for r in con.to_pyarrow(joined).to_pylist():
        if r["product_id"] is not None:
            found[r["customer_id"]][r["product_id"]].add(r["order_id"])
    return found


def _refreshed(api: httpx.Client) -> dict:  # type: ignore[type-arg]
    started = api.post("/api/insight/recommendations")
    assert started.status_code == 202, started.text
    assert finished_job(api, started.json()["id"])["status"] == "succeeded"
    answer = api.get("/api/insight/recommendations")
    assert answer.status_code == 200
    return dict(answer.json())


def test_the_json_twin_after_a_refresh(server: Server, api: httpx.Client) -> None:
    view = _refreshed(api)
    bought = _bought(server)
    buyers: dict[str, int] = defaultdict(int)
    for products in bought.values():
        for p in products:
            buyers[p] += 1
    expected = sorted(buyers, key=lambda p: (-buyers[p], p))[:5]
    assert view["stored"] is True
    assert [p["product_id"] for p in view["popular"]] == expected
    assert view["evaluation"] is not None and view["evaluation"]["k"] == 5
    assert 0 <= view["evaluation"]["map"] <= view["evaluation"]["hit_rate"] <= 1
    assert view["next_pairs"] and all(p["customers"] >= 2 for p in view["next_pairs"])
    # The strongest co-purchase pair, counted again from the raw rows.
    top = view["co_pairs"][0]
    both = sum(1 for products in bought.values()
               if top["product_id"] in products and top["other_id"] in products)
    assert top["customers"] == both
    # A customer with orders: nothing they own that nobody ever bought twice (one-time).
    rebought = {p for products in bought.values() for p, orders in products.items()
                if len(orders) >= 2}
    customer = sorted(c for c, products in bought.items() if len(products) >= 2)[0]
    mine = api.get("/api/insight/recommendations", params={"customer": customer}).json()
    listed = {p["product_id"] for p in mine["customer"]}
    assert mine["customer_id"] == customer and 1 <= len(listed) <= 5
    assert not {p for p in listed if p in bought[customer] and p not in rebought}


def test_the_pages_in_english(server: Server, api: httpx.Client) -> None:
    _refreshed(api)
    page = api.get("/insight/recommendations", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Offline evaluation" in page.text and "Bought by the same customers" in page.text
    assert 'id="chart-evaluation"' in page.text
    assert "Recommendations against the popularity baseline" in page.text
    hub = api.get("/insight", headers={"Accept-Language": "en"})
    assert 'href="/insight/recommendations"' in hub.text


def _chart_matches_the_table(page: Page, api: httpx.Client) -> None:
    """The bars drawn are the evaluation's numbers: each bar's value is the JSON twin's, and
    its label is what the table prints in the same row and column."""
    expect(page.locator("#chart-evaluation[data-rendered]")).to_be_attached()
    expect(page.locator("#chart-evaluation .main-svg").first).to_be_visible()
    drawn = page.evaluate("""() => document.getElementById("chart-evaluation").data.map(
        t => ({name: t.name, x: t.x, y: t.y, text: t.text}))""")
    e = api.get("/api/insight/recommendations").json()["evaluation"]
    assert [t["name"] for t in drawn] == ["おすすめ商品", "人気順"]
    assert drawn[0]["x"] == ["ヒット率@5", "MAP@5"]
    assert drawn[0]["y"] == [e["hit_rate"], e["map"]]
    assert drawn[1]["y"] == [e["popularity_hit_rate"], e["popularity_map"]]
    assert e["hit_rate"] > 0 and drawn[0]["y"] != drawn[1]["y"]
    rows = page.locator("#evaluation-table tbody tr")
    for i, trace in enumerate(drawn):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[0] == trace["name"]
        assert cells[1:] == trace["text"]  # hit rate as a percentage, MAP to three places
        assert float(cells[1].rstrip("%")) / 100 == pytest.approx(trace["y"][0], abs=5e-4)
        assert float(cells[2]) == pytest.approx(trace["y"][1], abs=5e-4)


@pytest.mark.slow
@needs_chromium
def test_the_page_on_a_phone_in_japanese(server: Server, api: httpx.Client,
                                         browser: Browser) -> None:
    customer = sorted(_bought(server))[0]
    page = tab(browser, server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/insight/recommendations")
    page.goto("/insight/recommendations")
    expect(page.locator("h1")).to_contain_text("おすすめ商品")
    with page.expect_navigation():  # the form posts, then shows the new job
        page.click("#refresh")  # a job; the page reloads when it is done
    # Open the page again once the job is done: the page that watched the job reloads itself
    # then, and that reload must not land in the middle of the lookup below.
    expect(page.locator("#job")).to_have_attribute("data-status", "succeeded", timeout=120_000)
    page.goto("/insight/recommendations")
    expect(page.locator("#evaluation-table")).to_be_visible()
    expect(page.locator("#evaluation-table")).to_contain_text("ヒット率@5")
    _chart_matches_the_table(page, api)
    page.fill("#customer-id", customer)
    page.click("#lookup button[type=submit]")
    expect(page.locator("#customer-products tbody tr")).not_to_have_count(0)
    mine = api.get("/api/insight/recommendations", params={"customer": customer}).json()
    first = mine["customer"][0]["title"]
    expect(page.locator("#customer-products tbody tr").first).to_contain_text(first)
    expect(page.locator("#next-pairs")).to_contain_text(mine["next_pairs"][0]["title"])
    width = page_width(page)
    assert width <= 390, width
    screenshot(page, "recommendations-ja-phone", full_page=True)
    page.context.close()
