"""The predictive models' page and its JSON twin, on the main test shop (its first daily run
fitted the models, with the month-end backfill)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest
from playwright.sync_api import Browser

from .browser import expect, needs_chromium, page_width, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server, customers_with_orders


def test_models_json_shows_the_latest_fit(server: Server, api: httpx.Client) -> None:
    body = api.get("/api/insight/models").json()
    assert body["fit"]["fit_date"] == DAY.isoformat()
    # Every customer with an order by the fit day is scored (counted in plain SQL).
    assert body["scored"] == customers_with_orders(server.workspace, 1, DAY)
    # The first run backfilled the last 12 month-ends, then fitted the day.
    dates = [dt.date.fromisoformat(d) for d in body["fit_dates"]]
    assert dates[-1] == DAY and len(dates) == 13
    assert all((d + dt.timedelta(days=1)).day == 1 for d in dates[:-1])
    assert sum(b["customers"] for b in body["clv_histogram"]) == body["scored"]
    q = body["clv_quantiles"]
    assert 0 <= q["p10"] <= q["p50"] <= q["p90"]


@pytest.mark.slow
@needs_chromium
def test_models_page_on_a_phone_in_japanese(server: Server, browser: Browser) -> None:
    page = tab(browser, server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/insight/models")
    page.goto("/insight/models")
    expect(page.locator("h1")).to_have_text("予測モデル")
    expect(page.locator("#parameters")).to_contain_text("BG/NBD")
    expect(page.locator("#fit-date")).to_contain_text("予測した顧客数")
    mean = httpx.get(f"{server.url}/api/insight/models", timeout=60, headers={
        "Authorization": f"Bearer {server.token}"}).json()["clv_quantiles"]["mean"]
    expect(page.locator("#clv-quantiles")).to_contain_text(f"平均 {round(mean):,}")
    width = page_width(page)
    assert width <= 390, width
    page.goto("/insight")
    expect(page.locator("#insight-views")).to_contain_text("予測モデル")
