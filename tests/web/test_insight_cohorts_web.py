"""The cohorts and first-product pages, their JSON twins and CSV, on the demo shop (400
customers, Japanese product names), in Japanese on a phone."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser

from core.fixtures.small_store import _noon, _table, order, order_tables
from insight.cohorts_fixtures import DAY as TINY_DAY
from insight.cohorts_fixtures import workspace as tiny_workspace
from segmentry.testing.http import serving
from segmentry.web import create_app
from segmentry.web.accounts import add_user, create_token
from segmentry.web.deps import WebApp

from .browser import expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server, customers_with_orders, finished_job


def test_cohorts_json_counts_every_customer_with_an_order(server: Server,
                                                          api: httpx.Client) -> None:
    body = api.get("/api/insight/cohorts").json()
    assert body["day"] == DAY.isoformat()
    assert sum(c["customers"] for c in body["cohorts"]) == customers_with_orders(
        server.workspace, 1, DAY)
    assert all(c["retention"][0] == 1.0 for c in body["cohorts"])
    split = api.get("/api/insight/cohorts", params={"by": "channel"}).json()
    assert sum(c["customers"] for c in split["cohorts"]) == sum(
        c["customers"] for c in body["cohorts"])  # one channel per first order
    assert api.get("/api/insight/cohorts", params={"by": "colour"}).status_code == 422


def test_cohorts_inside_a_segment(server: Server, api: httpx.Client) -> None:
    body = api.get("/api/insight/cohorts", params={"segment": "repeat-customers"}).json()
    assert sum(c["customers"] for c in body["cohorts"]) == customers_with_orders(
        server.workspace, 2, DAY)
    # Everyone in it has 2+ orders; a cohort month k > 0 is never above 100 %.
    assert all(0 <= r <= 1 for c in body["cohorts"] for r in c["retention"])


def test_cohorts_csv(api: httpx.Client) -> None:
    response = api.get("/insight/cohorts.csv", params={"bom": "1"})
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    body = api.get("/api/insight/cohorts", params={"months": 120}).json()
    assert len(rows) == sum(len(c["retention"]) for c in body["cohorts"])
    first = body["cohorts"][0]
    assert rows[0]["cohort"] == first["cohort"] and rows[0]["month"] == "0"


def test_first_products_json_and_a_segment_from_a_row(server: Server,
                                                      api: httpx.Client) -> None:
    body = api.get("/api/insight/first-products", params={"by": "product_type"}).json()
    row = body["rows"][0]
    assert row["customers"] >= max(r["customers"] for r in body["rows"])
    made = api.post("/api/insight/first-products/segments", json={
        "dimension": "product_type", "value": row["value"], "display_name": "初回タイプ API"})
    assert made.status_code == 202, made.text
    job = finished_job(api, made.json()["id"])
    assert job["status"] == "succeeded", job
    segment = api.get(f"/api/segments/{job['subject']}").json()
    assert segment["segment"]["customers"] == row["customers"]


@pytest.mark.slow
@needs_chromium
def test_the_pages_on_a_phone_in_japanese(server: Server, api: httpx.Client,
                                          browser: Browser) -> None:
    page = tab(browser, server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/insight")
    page.goto("/insight")
    page.click("#insight-cohorts")
    expect(page.locator("h1")).to_have_text("コホート")
    expect(page.locator("#chart-cohort_heatmap .main-svg").first).to_be_visible()
    page.select_option("#cohort-by", "channel")
    page.click("#cohort-form button[type=submit]")
    expect(page.locator("#cohort-retention th").first).to_have_text("グループ")
    assert page_width(page) <= 390
    # The wide table scrolls inside its box.
    assert page.evaluate("""() => { const w = document.querySelector('#cohort-retention')
        .closest('.table-wrap'); return w.scrollWidth > w.clientWidth; }""")
    screenshot(page, "cohorts-ja-phone")

    page.goto("/insight/first-products")
    expect(page.locator("h1")).to_have_text("初回購入商品")
    first = page.locator("#first-products tbody tr").first
    label = first.locator("td").first.inner_text()
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", label), label  # a Japanese title
    customers = int(first.locator("td").nth(1).inner_text().replace(",", ""))
    assert page_width(page) <= 390
    screenshot(page, "first-products-ja-phone")
    first.locator("button").click()  # one click: the builder saves it as a job
    page.wait_for_url(re.compile(r"/segments/"), timeout=120_000)
    key = urlsplit(page.url).path.rsplit("/", 1)[1]
    segment = api.get(f"/api/segments/{key}").json()["segment"]
    assert segment["display_name"] == f"初回購入: {label}"
    assert segment["customers"] == customers
    page.context.close()


# ------------------------------------------------------------------ cached until a run


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, WebApp]]:
    """The hand-worked tiny store of tests/insight/cohorts_fixtures.py, served, with the app's
    state (its cache); its own shop, since a test adds orders to it."""
    ws = tiny_workspace(tmp_path_factory.mktemp("cohorts-cache") / "shop")
    add_user(ws.state, EMAIL, PASSWORD, ws.settings.shop.id)
    app = create_app(ws.folder, workspace=ws)
    try:
        with serving(app) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "t")), app.state.web
    finally:
        ws.close()


def _customers(body: dict[str, Any]) -> dict[str, int]:
    return {c["cohort"]: c["customers"] for c in body["cohorts"]}


def _first(body: dict[str, Any]) -> dict[str, int]:
    return {r["value"]: r["customers"] for r in body["rows"]}


def test_views_are_cached_until_a_run(tiny: tuple[Server, WebApp]) -> None:
    server, web = tiny
    ws = server.workspace
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {server.token}"}) as api:
        def views() -> tuple[dict[str, Any], dict[str, Any]]:
            return (api.get("/api/insight/cohorts").json(),
                    api.get("/api/insight/first-products").json())

        cohort, first = views()
        # By hand (cohorts_fixtures): a1 and a2 in January, a3 (its cancelled order left
        # out) in February, a4 in April (Tokyo time), a6 in May 2023; first products.
        assert _customers(cohort) == {"2023-05": 1, "2024-01": 2, "2024-02": 1, "2024-04": 1}
        assert _first(first) == {"1001": 2, "1003": 1, "1004": 1, "1005": 1, "1002": 1}
        keys = [k for k in web.cache if k[0] in ("cohorts", "first_products")]
        assert len(keys) == 2
        assert views() == (cohort, first)  # the second view: identical figures …
        assert [k for k in web.cache if k[0] in ("cohorts", "first_products")] == keys
        # … from memory: a new customer's order, imported without a run, does not show
        ws.import_tables({
            "customers": _table("customers", [{
                "shop_id": "shop", "customer_id": "a7", "email": "a7@example.jp",
                "created_at": _noon("2024-06-01"), "updated_at": _noon("2024-06-01")}]),
            **order_tables([order("o71", "a7", _noon("2024-06-20"), [("1005", 1)], "line")],
                           "shop")})
        assert views() == (cohort, first)
        ws.run(TINY_DAY)  # a new run: a new data version, computed again
        cohort, first = views()
        assert _customers(cohort) == {"2023-05": 1, "2024-01": 2, "2024-02": 1, "2024-04": 1,
                                      "2024-06": 1}
        assert _first(first) == {"1001": 2, "1003": 1, "1004": 1, "1005": 2, "1002": 1}
        assert views() == (cohort, first)
