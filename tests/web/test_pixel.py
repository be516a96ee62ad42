"""``POST /pixel/events`` over real HTTP (the tiny "other" shop): what it stores, what it
refuses, a repeated event stored once; and the builder's notice for functions without events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from segmentry.connectors.shopify.pixel import pixel_token

from .conftest import Server


@pytest.fixture(scope="module")
def shop(other_server: Server) -> Iterator[tuple[httpx.Client, str, str]]:
    ws = other_server.workspace
    token = pixel_token(Path(ws.folder), create=True)
    assert token
    with httpx.Client(base_url=other_server.url, timeout=60) as client:
        yield client, ws.settings.shop.id, token


def _body(shop_id: str, token: str, **event: object) -> bytes:
    event = {"id": "sh-evt-1", "name": "product_viewed", "timestamp": "2025-06-20T03:00:00Z",
             "customer_id": "gid://shopify/Customer/424242",
             "product_id": "gid://shopify/Product/8123", **event}
    return json.dumps({"shop": shop_id, "token": token, "event": event}).encode()


def _stored(server: Server, event_id: str) -> list[dict[str, object]]:
    con = server.workspace.warehouse
    t = con.table("customer_events")
    return con.to_pyarrow(t.filter(t.event_id == event_id)).to_pylist()


def test_an_event_is_stored_once(shop: tuple[httpx.Client, str, str],
                                 other_server: Server) -> None:
    client, shop_id, token = shop
    first = client.post("/pixel/events", content=_body(shop_id, token),
                        headers={"Content-Type": "text/plain"})
    assert (first.status_code, first.text) == (202, "stored")
    assert first.headers["access-control-allow-origin"] == "*"
    again = client.post("/pixel/events", content=_body(shop_id, token))
    assert (again.status_code, again.text) == (202, "duplicate")
    rows = _stored(other_server, "pixel:sh-evt-1")
    assert len(rows) == 1
    row = rows[0]
    assert (row["customer_id"], row["product_id"], row["source"], row["event"]) == (
        "424242", "8123", "storefront", "product_viewed")
    assert str(row["occurred_on"]) == "2025-06-20"  # 12:00 in Tokyo


def test_a_visitor_who_is_not_logged_in_is_not_stored(
        shop: tuple[httpx.Client, str, str], other_server: Server) -> None:
    client, shop_id, token = shop
    answer = client.post("/pixel/events", content=_body(shop_id, token, id="anon-1",
                                                         customer_id=None))
    assert (answer.status_code, answer.text) == (202, "ignored")
    assert _stored(other_server, "pixel:anon-1") == []


@pytest.mark.parametrize(("change", "status"), [
    ({"token": "wrong"}, 403),
    ({"shop": "someone-else"}, 404),
    ({"event": {"id": "x", "name": "checkout_completed", "timestamp": "2025-06-20T03:00:00Z",
                "customer_id": "1"}}, 400),
    ({"event": {"id": "x", "name": "product_viewed", "timestamp": "yesterday",
                "customer_id": "1", "product_id": "2"}}, 400),
    ({"event": "not an object"}, 400),
])
def test_refused(shop: tuple[httpx.Client, str, str], change: dict[str, object],
                 status: int) -> None:
    client, shop_id, token = shop
    body = json.loads(_body(shop_id, token)) | change
    assert client.post("/pixel/events", content=json.dumps(body)).status_code == status


def test_malformed_and_oversize(shop: tuple[httpx.Client, str, str]) -> None:
    client, shop_id, token = shop
    assert client.post("/pixel/events", content=b"{not json").status_code == 400
    huge = _body(shop_id, token, padding="x" * 5000)
    assert client.post("/pixel/events", content=huge).status_code == 413


def test_the_builder_notices_functions_without_events(
        shop: tuple[httpx.Client, str, str], other_server: Server) -> None:
    client, shop_id, token = shop
    client.post("/pixel/events", content=_body(shop_id, token, id="seen-2"))
    with httpx.Client(base_url=other_server.url, timeout=60,
                      headers={"Authorization": f"Bearer {other_server.token}"}) as api:
        # The demo store has no unsubscribes (connectors/demo/events.py).
        query = "shopify_email.unsubscribed MATCHES () OR storefront.product_viewed MATCHES ()"
        preview = api.post("/api/preview", json={"query": query})
        assert preview.status_code == 200, preview.text
        assert preview.json()["no_events"] == ["shopify_email.unsubscribed"]
        opened = api.post("/api/preview", json={"query": "shopify_email.opened MATCHES ()"})
        assert opened.json()["no_events"] == [] and opened.json()["count"] > 0
        none = api.post("/api/preview",
                        json={"query": "shopify_email.unsubscribed NOT MATCHES ()"})
        everyone = api.post("/api/preview", json={"query": "number_of_orders >= 0"})
        assert none.json()["count"] == everyone.json()["count"] > 0
