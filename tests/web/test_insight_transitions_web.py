"""The segment-transitions and RFM-grid pages and their JSON twins on the served demo shop: the
figures match the segments' own members read through the Python API, and the pages work in
Japanese on a 390 px phone."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser

from .browser import expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import DAY, EMAIL, PASSWORD, Server, saved

pytestmark = [pytest.mark.slow]

START = dt.date(2025, 3, 31)
# Own segments (Japanese display names), in the group's order.
SEGMENTS = {"tr-loyal": ("遷移ロイヤル", "number_of_orders >= 3"),
            "tr-one": ("遷移初回", "number_of_orders = 1")}
QUERY = urlencode({"start": START.isoformat(), "end": DAY.isoformat()}) + "".join(
    f"&segments={k}" for k in SEGMENTS)


@pytest.fixture(scope="module")
def group(api: httpx.Client) -> Iterator[list[str]]:
    for key, (name, query) in SEGMENTS.items():
        if api.get(f"/api/segments/{key}").status_code == 404:
            saved(api, api.post("/api/segments", json={"key": key, "display_name": name,
                                                       "query": query}))
    yield list(SEGMENTS)


def _reference(server: Server) -> Counter[tuple[str, str]]:
    """The matrix from each segment's members on both days (first in the group wins)."""
    def places(day: dt.date) -> dict[str, str]:
        found: dict[str, str] = {}
        for key in SEGMENTS:
            for customer in server.workspace.members(key, day).column("customer_id").to_pylist():
                found.setdefault(customer, key)
        return found

    before, after = places(START), places(DAY)
    return Counter((before.get(c, "none"), after.get(c, "none"))
                   for c in set(before) | set(after))


def test_transitions_json_and_flow_csv(api: httpx.Client, server: Server, group: list[str]
                                       ) -> None:
    body = api.get(f"/api/insight/transitions?{QUERY}").json()
    flows = {(f["from"], f["to"]): f["customers"] for f in body["flows"]}
    reference = _reference(server)
    assert flows == dict(reference) and sum(flows.values()) > 20
    assert [p["label"] for p in body["places"]] == ["遷移ロイヤル", "遷移初回", ""]
    cell = max(reference, key=lambda k: reference[k] if k[0] != k[1] else 0)
    response = api.get(f"/insight/transitions/flow.csv?{QUERY}&from={cell[0]}&to={cell[1]}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == reference[cell]
    refused = api.get(f"/api/insight/transitions?{QUERY}&end=2099-01-01")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_computed"


def test_rfm_json(api: httpx.Client) -> None:
    body = api.get("/api/insight/rfm?months=2&source=rules").json()
    assert body["source"] == "rfm_segment"
    last = body["days"][-1]
    assert last["day"] == DAY.isoformat()
    # by the rule every customer has a group, and R × F covers those with an order
    assert sum(last["counts"].values()) == last["customers"] == last["grouped"] > 100
    buyers = last["customers"] - last["counts"]["PROSPECTS"]
    assert sum(c["customers"] for c in body["rf"]["cells"]) == buyers


@needs_chromium
def test_transitions_page_in_japanese_on_a_phone(browser: Browser, server: Server,
                                                 group: list[str]) -> None:
    page = tab(browser, server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/insight")
    expect(page.locator("#insight-views")).to_contain_text("セグメント遷移")
    page.goto(f"/insight/transitions?group=custom&{QUERY}")
    matrix = page.locator("#matrix")
    expect(matrix.locator("thead")).to_contain_text("遷移ロイヤル")
    expect(matrix.locator("thead")).to_contain_text("いずれにも該当しない")
    reference = _reference(server)
    cell = matrix.locator("tr[data-from='tr-one'] td[data-to='tr-loyal']")
    expect(cell).to_have_text(f"{reference['tr-one', 'tr-loyal']:,}")
    expect(page.locator("#chart-sankey .main-svg").first).to_be_attached()
    expect(page.locator("#deltas")).to_contain_text("顧客あたり注文数")
    width = page_width(page)
    assert width <= 390, width
    screenshot(page, "insight-transitions-ja-phone", full_page=True)
    page.context.close()


@needs_chromium
def test_rfm_page_in_both_languages(browser: Browser, server: Server) -> None:
    page = tab(browser, server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/insight/rfm?months=3&source=rules")
    expect(page.locator("#rfm-source")).to_have_attribute("data-source", "rfm_segment")
    expect(page.locator("#rfm-grid tr[data-group=CHAMPIONS] th")).to_have_text("チャンピオン")
    expect(page.locator("#rf-grid tr[data-recency='5'] th")).to_have_text("R5")
    expect(page.locator("#chart-rfm-shares .main-svg").first).to_be_attached()
    width = page_width(page)
    assert width <= 390, width
    screenshot(page, "insight-rfm-ja-phone", full_page=True)
    page.context.close()
    page = tab(browser, server.url, "en")
    sign_in(page, EMAIL, PASSWORD, "en", then="/insight/rfm?months=3&source=rules")
    expect(page.locator("#rfm-grid tr[data-group=PREVIOUSLY_LOYAL] th")).to_have_text(
        "Previously loyal")
    page.context.close()
