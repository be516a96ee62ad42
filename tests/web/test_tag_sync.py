"""The segment page and its JSON twin show the Shopify tag-sync status of a bound segment."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segmentry.activation.shopify.activate import sync_segment
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.testing.shopify import FakeShopify
from segmentry.web.accounts import add_user

from .conftest import EMAIL, PASSWORD, Server, log_in, serving_shop


@pytest.fixture(scope="module")
def shopify_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A shop connected to the fake Shopify, with 'repeat' synced as tag seg-repeat."""
    store = generate_store(80, seed=5, end_date=dt.date.today(), shop_id="shop")
    folder: Path = tmp_path_factory.mktemp("web-shopify") / "ws"
    with FakeShopify() as fake:
        fake.seed(store)
        ws = Workspace.create(folder, shop_id="shop")
        try:
            connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
            ws.run()
            ws.add_segment("repeat", "number_of_orders >= 2")
            ws.add_segment("unbound", "number_of_orders >= 1")
            add_user(ws.state, EMAIL, PASSWORD, "shop")
            sync_segment(ws, "repeat", "seg-repeat", create_shopify_segment=True)
            with serving_shop(ws) as server:
                yield server
        finally:
            ws.close()


def _members(ws: Workspace, name: str) -> int:
    return len(ws.members(name))


def test_json_shows_the_tag_job_and_audit(shopify_server: Server) -> None:
    with httpx.Client(base_url=shopify_server.url, timeout=60,
                      headers={"Authorization": f"Bearer {shopify_server.token}"}) as api:
        body = api.get("/api/segments/repeat").json()
        unbound = api.get("/api/segments/unbound").json()
    members = _members(shopify_server.workspace, "repeat")
    assert members > 5
    sync = body["tag_sync"]
    assert sync["tag"] == "seg-repeat"
    assert sync["shopify_segment_id"]
    job = sync["last_job"]
    assert job["status"] == "succeeded"
    assert job["adds"] == job["adds_done"] == members
    assert job["removes"] == job["removes_done"] == 0 and job["failed"] == 0
    assert sync["audit_entries"] == members + 1  # every tag added, and the Shopify segment
    assert len(sync["recent_audit"]) == 5
    assert sync["recent_audit"][0]["action"] == "segment_create"
    assert sync["recent_audit"][1]["action"] == "tags_add"
    assert unbound["tag_sync"] is None


def test_page_shows_the_tag_and_counts_in_both_languages(shopify_server: Server) -> None:
    count = _members(shopify_server.workspace, "repeat")
    members, entries = f"{count:,}", f"{count + 1:,}"
    client = log_in(shopify_server.url)
    try:
        client.cookies.set("segmentry_lang", "en")
        page = client.get("/segments/repeat").text
        assert 'id="tag-sync"' in page and "seg-repeat" in page
        assert "Created in Shopify" in page
        assert f"Tag added {members} / {members}" in page
        assert f"{entries} entries" in page
        client.cookies.set("segmentry_lang", "ja")
        page = client.get("/segments/repeat").text
        assert "Shopifyタグ連携" in page and f"タグ付与 {members} / {members}" in page
        unbound = client.get("/segments/unbound").text  # no status yet, only the switch
        assert 'id="tag-sync-off"' in unbound and 'id="tag-sync-job"' not in unbound
    finally:
        client.close()


def test_a_shop_without_shopify_shows_nothing(server: Server, api: httpx.Client,
                                              browser_client: httpx.Client) -> None:
    assert api.get("/api/segments/repeat-customers").json()["tag_sync"] is None
    assert 'id="tag-sync"' not in browser_client.get("/segments/repeat-customers").text
