"""The campaign list and report pages, their JSON twins and CSV, on a demo shop whose campaign
``demo-f2`` was simulated with a known effect (docs/campaigns.md, "The demo campaign"); the
report in Japanese on a phone and in English on a desktop."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.demo.campaign import SimulatedCampaign, simulate_campaign
from segmentry.web.accounts import add_user

from .browser import expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server, serving_shop

START = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(1, 0))  # 10:00 Tokyo


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, SimulatedCampaign]]:
    ws = Workspace.create(tmp_path_factory.mktemp("web-campaigns") / "ws", shop_id="demo",
                          shop_name="デモ美容店")
    ws.import_tables(generate_store(1500, seed=11, end_date=DAY, shop_id="demo"))
    ws.run(DAY)
    ws.add_segment("first-time-customers", "number_of_orders = 1",
                   display_name="初回購入のお客様")
    sim = simulate_campaign(ws, start=START, holdout=0.3)
    add_user(ws.state, EMAIL, PASSWORD, "demo")
    try:
        with serving_shop(ws) as server:
            yield server, sim
    finally:
        ws.close()


@pytest.fixture(scope="module")
def api(shop: tuple[Server, SimulatedCampaign]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop[0].url, timeout=60,
                      headers={"Authorization": f"Bearer {shop[0].token}"}) as client:
        yield client


def _groups(ws: Workspace) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in Campaigns(ws).assignments("demo-f2").to_pylist():
        counts[row["group"]] = counts.get(row["group"], 0) + 1
    return counts


def test_the_list_counts_each_group(shop: tuple[Server, SimulatedCampaign],
                                    api: httpx.Client) -> None:
    server, sim = shop
    (campaign,) = api.get("/api/campaigns").json()["campaigns"]
    assert (campaign["key"], campaign["segment"], campaign["steps"]) == (
        "demo-f2", "first-time-customers", ["offer"])
    assert (campaign["treated"], campaign["holdout"]) == (sim.treated, sim.held_out)
    assert _groups(server.workspace) == {"treated": sim.treated, "holdout": sim.held_out}


def test_the_report_json(shop: tuple[Server, SimulatedCampaign], api: httpx.Client) -> None:
    _, sim = shop
    body = api.get("/api/campaigns/demo-f2/report").json()
    treated, holdout = body["groups"]
    assert (treated["customers"], holdout["customers"]) == (sim.treated, sim.held_out)
    assert treated["converted"] + holdout["converted"] <= sim.orders + 0  # one order each
    conversion = body["lift"]["conversion"]
    assert conversion["difference"]["estimate"] == pytest.approx(
        treated["converted"] / treated["customers"] - holdout["converted"] / holdout["customers"])
    low, high = conversion["difference"]["low"], conversion["difference"]["high"]
    assert low < conversion["difference"]["estimate"] < high
    assert body["incremental_revenue"]["estimate"] == pytest.approx(
        (treated["revenue_per_customer"] - holdout["revenue_per_customer"]) * sim.treated)
    assert len(body["cumulative"]) == 7
    assert body["cumulative"][-1]["treated"] == pytest.approx(treated["revenue_per_customer"])
    step = api.get("/api/campaigns/demo-f2/report", params={"step": "offer"}).json()
    assert step["groups"] == body["groups"] and step["step"] == "offer"
    short = api.get("/api/campaigns/demo-f2/report",
                    params={"window": 2, "bootstrap": "true"}).json()
    assert short["window_days"] == 2 and len(short["cumulative"]) == 2
    assert short["groups"][0]["revenue"] <= treated["revenue"]
    assert short["revenue_bootstrap"]["method"] == "bootstrap_studentized"
    assert api.get("/api/campaigns/demo-f2/report", params={"step": "nope"}).status_code == 404
    assert api.get("/api/campaigns/nope/report").status_code == 404
    assert api.get("/api/campaigns/demo-f2/report", params={"window": 0}).status_code == 422


def test_the_report_csv(api: httpx.Client) -> None:
    body = api.get("/api/campaigns/demo-f2/report").json()
    response = api.get("/campaigns/demo-f2/report.csv", params={"bom": "1"})
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    groups, lift, *_ = text.split("\r\n\r\n")  # then engagement, when a step was sent
    rows = list(csv.DictReader(io.StringIO(groups)))
    assert [(r["group"], int(r["customers"]), int(r["converted"])) for r in rows] == [
        (g["group"], g["customers"], g["converted"]) for g in body["groups"]]
    measures = {r["measure"]: r for r in csv.DictReader(io.StringIO(lift))}
    assert float(measures["conversion"]["low"]) == pytest.approx(
        body["lift"]["conversion"]["difference"]["low"], abs=1e-6)
    assert measures["conversion"]["verdict"] == body["lift"]["conversion"]["difference"][
        "verdict"]


@pytest.mark.slow
@needs_chromium
def test_the_report_on_a_phone_in_japanese(shop: tuple[Server, SimulatedCampaign],
                                           api: httpx.Client, browser: Browser) -> None:
    body = api.get("/api/campaigns/demo-f2/report").json()
    page = tab(browser, shop[0].url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/campaigns")
    page.goto("/campaigns")
    expect(page.locator("h1")).to_have_text("キャンペーン")
    expect(page.locator("#campaign-list tr[data-key=demo-f2] td").nth(5)).to_have_text(
        f"{body['groups'][0]['customers']:,}")
    assert page_width(page) <= 390
    page.click("#campaign-list a[href='/campaigns/demo-f2']")
    expect(page.locator("#campaign-key")).to_have_text("demo-f2")
    verdict = body["lift"]["conversion"]["difference"]["verdict"]
    words = {"positive": "効果あり", "negative": "逆効果", "too_small_to_tell": "判断できない"}
    expect(page.locator("#report-lift tr[data-measure=conversion] td").last).to_have_text(
        words[verdict])
    expect(page.locator("#report-verdict p").first).to_contain_text("購入率")
    expect(page.locator("#chart-campaign_cumulative .main-svg").first).to_be_visible()
    assert page_width(page) <= 390
    # Each row is a card on a phone: every figure on screen with its heading, nothing to
    # scroll sideways to find.
    p_value = page.locator("#report-lift tr[data-measure=conversion] td").nth(6)
    expect(p_value).to_have_attribute("data-label", "p値")
    for table in ("#report-lift", "#report-groups"):
        right = page.evaluate(f"""() => Math.max(...[...document.querySelectorAll(
            '{table} td')].map(c => c.getBoundingClientRect().right))""")
        assert right <= 390, (table, right)
        assert page.evaluate(f"(t => t.scrollWidth <= t.clientWidth)"
                             f"(document.querySelector('{table}'))"), table
    screenshot(page, "campaign-report-ja-phone", full_page=True)
    page.select_option("#report-step", "offer")
    page.fill("#report-window", "3")
    page.click("#report-form button[type=submit]")
    expect(page.locator("#report-window")).to_have_value("3")
    expect(page.locator("#report-csv")).to_have_attribute("href", "/campaigns/demo-f2/"
                                                          "report.csv?step=offer&window=3&bom=1")
    page.context.close()


@pytest.mark.slow
@needs_chromium
def test_the_report_in_english(shop: tuple[Server, SimulatedCampaign], api: httpx.Client,
                               browser: Browser) -> None:
    page = tab(browser, shop[0].url, "en", "desktop")
    sign_in(page, EMAIL, PASSWORD, "en", then="/campaigns/demo-f2")
    page.goto("/")
    page.click("#nav-campaigns")
    page.click("#campaign-list a[href='/campaigns/demo-f2']")
    expect(page.locator("#report-verdict p").first).to_contain_text("Conversion: ")
    expect(page.locator("#report-groups tr[data-group=holdout] td").first).to_have_text(
        "Holdout")
    screenshot(page, "campaign-report-en-desktop", full_page=True)
    page.context.close()
