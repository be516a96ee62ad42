"""Tag sync from the web against the fake Shopify: the dry run's numbers equal a count of the
store's repeat customers against the tags the fake store holds, the background sync writes
them, a second sync writes nothing, and "stop syncing" clears the tag. Then the browser flow
in English and Japanese, on a desktop and a phone."""

from __future__ import annotations

import collections
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.testing.shopify import FakeShopify, gid
from segmentry.web.accounts import add_user, create_token

from .browser import SIZES, expect, needs_chromium, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, finished_job, served

TAG = "seg-loyal"
HAND_TAGGED_MEMBERS, HAND_TAGGED_OTHERS = 2, 3
FLOWS = [(lang, view) for lang in ("en", "ja") for view in SIZES]


@dataclass
class Shop:
    server: Server
    fake: FakeShopify
    repeaters: set[str]  # customer ids with 2+ orders never cancelled, counted from the store
    hand_tagged: set[str]


def _repeaters(store: dict[str, Any]) -> set[str]:
    """Customers with at least two orders that were never cancelled, counted from the file."""
    orders = collections.Counter(
        row["customer_id"] for row in store["orders"].to_pylist() if row["cancelled_at"] is None
    )
    return {customer for customer, count in orders.items() if count >= 2}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A shop connected to the fake, where someone already tagged a few customers by hand
    with the tag 'loyal' will use: two repeat customers and three others."""
    store = generate_store(80, seed=5, end_date=dt.date.today(), shop_id="shop")
    repeaters = _repeaters(store)
    others = sorted({r["customer_id"] for r in store["customers"].to_pylist()} - repeaters)
    hand = set(sorted(repeaters)[:HAND_TAGGED_MEMBERS]) | set(others[:HAND_TAGGED_OTHERS])
    folder: Path = tmp_path_factory.mktemp("web-tag-sync") / "ws"
    with FakeShopify() as fake:
        fake.seed(store)
        for customer in hand:
            fake.data.set_tags(gid("Customer", customer), [TAG])
        ws = Workspace.create(folder, shop_id="shop")
        try:
            connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
            ws.run()
            ws.add_segment("loyal", "number_of_orders >= 2")
            for lang, view in FLOWS:
                ws.add_segment(f"loyal-{lang}-{view}", "number_of_orders >= 2")
            add_user(ws.state, EMAIL, PASSWORD, "shop")
            with served(ws) as url:
                server = Server(url, ws, create_token(ws.state, EMAIL, "tests"))
                yield Shop(server, fake, repeaters, hand)
        finally:
            ws.close()


@pytest.fixture
def api(shop: Shop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.server.url, timeout=60,
                      headers={"Authorization": f"Bearer {shop.server.token}"}) as client:
        yield client


def _tagged(fake: FakeShopify, tag: str) -> set[str]:
    return {g.rsplit("/", 1)[-1] for g in fake.data.tagged(tag)}


def _finish(api: httpx.Client, response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    return finished_job(api, response.json()["id"])


def test_the_segment_is_the_repeat_customers(shop: Shop) -> None:
    members = set(shop.server.workspace.members("loyal").column("customer_id").to_pylist())
    assert members == shop.repeaters and len(members) > 10


def test_dry_run_sync_and_a_second_sync_that_writes_nothing(shop: Shop, api: httpx.Client) -> None:
    fake, members = shop.fake, shop.repeaters
    assert _tagged(fake, TAG) == shop.hand_tagged

    # The tag is already on customers segmentry does not manage: refused, as by the CLI.
    refused = api.get("/api/segments/loyal/tag-sync/plan", params={"tag": TAG})
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "tag_in_use"
    assert api.post("/api/segments/loyal/tag-sync", json={"tag": TAG}).status_code == 400

    plan = api.get("/api/segments/loyal/tag-sync/plan", params={"tag": TAG, "adopt": "true"})
    assert plan.status_code == 200, plan.text
    body = plan.json()
    adds, removes = members - _tagged(fake, TAG), _tagged(fake, TAG) - members
    assert (body["adds"], body["removes"]) == (len(adds), len(removes))
    assert (len(adds), len(removes)) == (len(members) - HAND_TAGGED_MEMBERS, HAND_TAGGED_OTHERS)
    assert {c["customer_id"] for c in body["sample_adds"]} <= adds
    assert len(body["sample_adds"]) == min(10, len(adds))
    assert {c["customer_id"] for c in body["sample_removes"]} == removes
    emails = {r["customer_id"]: r["email"] for r in
              shop.server.workspace.warehouse.table("customers").execute().to_dict("records")}
    assert all(c["email"] == emails[c["customer_id"]] for c in body["sample_adds"])
    assert all(c["tags"] == [TAG] for c in body["sample_removes"])
    assert not fake.mutations  # a dry run writes nothing

    job = _finish(api, api.post("/api/segments/loyal/tag-sync",
                                json={"tag": TAG, "adopt": True, "create_shopify_segment": True}))
    assert job["status"] == "succeeded", job
    assert (job["kind"], job["subject"]) == ("tag_sync", "loyal")
    # The last stage reported: the Shopify segment, after the tags.
    assert (job["stage"], job["done"], job["total"]) == ("shopify_segment", 1, 1)
    assert job["result"] == (f"loyal → {TAG}: +{len(adds)} / -{len(removes)} planned, "
                             f"{len(adds) + len(removes)} written, 0 refused")
    assert _tagged(fake, TAG) == members
    writes = [m for m in fake.mutations if m[0] in ("tagsAdd", "tagsRemove")]
    assert len(writes) == len(adds) + len(removes)
    status = api.get("/api/segments/loyal").json()["tag_sync"]
    assert status["tag"] == TAG and status["shopify_segment_id"]
    assert (status["last_job"]["adds_done"], status["last_job"]["removes_done"]) == (
        len(adds), len(removes))
    assert status["audit_entries"] == len(adds) + len(removes) + 1  # and the Shopify segment

    again = api.get("/api/segments/loyal/tag-sync/plan", params={"tag": TAG}).json()
    assert (again["adds"], again["removes"]) == (0, 0)
    before = len(fake.mutations)
    second = _finish(api, api.post("/api/segments/loyal/tag-sync", json={"tag": TAG}))
    assert second["status"] == "succeeded"
    assert [m for m in fake.mutations[before:] if m[0] in ("tagsAdd", "tagsRemove")] == []
    assert _tagged(fake, TAG) == members

    # Stop syncing: the dry run names everyone who loses the tag, then the tag is gone.
    clear = api.get("/api/segments/loyal/tag-sync/plan", params={"clear": "true"}).json()
    assert (clear["adds"], clear["removes"]) == (0, len(members))
    cleared = _finish(api, api.post("/api/segments/loyal/tag-sync/clear"))
    assert cleared["status"] == "succeeded", cleared
    assert _tagged(fake, TAG) == set()
    assert api.get("/api/segments/loyal").json()["tag_sync"] is None


def test_not_connected_or_unknown(api: httpx.Client, server: Server) -> None:
    assert api.get("/api/segments/nope/tag-sync/plan",
                   params={"tag": "x"}).status_code == 404
    bad = api.post("/api/segments/loyal/tag-sync", json={"tag": "a,b"})
    assert bad.status_code == 422
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {server.token}"}) as other:
        plain = other.get("/api/segments/repeat-customers/tag-sync/plan", params={"tag": "x"})
    assert plain.status_code == 400 and plain.json()["error"]["code"] == "not_connected"


# ---------------------------------------------------------------- in the browser

WORDS = {
    "en": {"adds": "Customers to tag", "succeeded": "Succeeded", "added": "Tag added"},
    "ja": {"adds": "タグを付ける顧客", "succeeded": "成功", "added": "タグ付与"},
}


@pytest.mark.slow
@needs_chromium
@pytest.mark.parametrize(("lang", "view"), FLOWS)
def test_tag_sync_in_the_browser(browser: Browser, shop: Shop, lang: str, view: str) -> None:
    name, tag = f"loyal-{lang}-{view}", f"seg-web-{lang}-{view}"
    members = shop.repeaters
    page = tab(browser, shop.server.url, lang, view)
    try:
        sign_in(page, EMAIL, PASSWORD, lang)
        page.goto(f"/segments/{name}")
        expect(page.locator("#tag-sync-off")).to_be_visible()
        page.fill("#tag-sync-input", tag)
        page.check("#tag-sync-create")
        page.click("#tag-sync-preview")
        summary = page.locator("#tag-plan-summary")
        expect(summary).to_contain_text(f"{WORDS[lang]['adds']}: {len(members):,}")
        expect(page.locator("#tag-plan")).to_have_attribute("data-removes", "0")
        expect(page.locator("#tag-plan-table tbody tr")).to_have_count(min(10, len(members)))
        expect(page.locator("#tag-clear-run")).to_be_hidden()
        fits = "(e => e.scrollWidth <= e.clientWidth)(document.getElementById('tag-sync'))"
        assert page.evaluate(fits)  # the section fits the screen (its table scrolls)
        assert _tagged(shop.fake, tag) == set()  # the preview wrote nothing
        if (lang, view) in (("ja", "phone"), ("en", "desktop")):  # a few, kept small
            page.locator("#tag-plan").scroll_into_view_if_needed()
            screenshot(page, f"tag-sync-preview-{lang}-{view}")
        page.click("#tag-sync-run")
        # The job runs in the background; the page reloads with the result when it is done.
        job = page.locator("#tag-sync-job")
        expect(job).to_contain_text(WORDS[lang]["succeeded"], timeout=120_000)
        expect(job).to_contain_text(f"{WORDS[lang]['added']} {len(members):,} / "
                                    f"{len(members):,}")
        expect(page.locator("#tag-sync-tag")).to_have_text(tag)
        expect(page.locator("#tag-sync-segment")).not_to_contain_text("Not created")
        page.locator("#tag-sync").scroll_into_view_if_needed()
        screenshot(page, f"tag-sync-{lang}-{view}")
    finally:
        page.context.close()
    assert _tagged(shop.fake, tag) == members


def test_a_sync_reports_its_writes_as_progress(shop: Shop) -> None:
    """The stages a job shows: reading customers, planning, then writes confirmed / planned."""
    from segmentry.activation.shopify.activate import sync_segment

    events: list[tuple[str, int, int]] = []
    ws = shop.server.workspace
    result = sync_segment(ws, "loyal", "seg-progress", refresh=True,
                          progress=lambda stage, done, total: events.append((stage, done, total)))
    members = len(shop.repeaters)
    assert result.done == members and _tagged(shop.fake, "seg-progress") == shop.repeaters
    stages = [e[0] for e in events]
    assert stages[:4] == ["refresh", "refresh", "plan", "plan"]
    writes = [e for e in events if e[0] == "tags"]
    assert writes[0] == ("tags", 0, members) and writes[-1] == ("tags", members, members)
    assert [d for _, d, _ in writes] == sorted(d for _, d, _ in writes)
