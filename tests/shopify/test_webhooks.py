"""Webhooks from the fake to our receiver over HTTP: HMAC, dedupe, topics, privacy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import tables
from segmentry.connectors.shopify.sync import settings_of
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.core.errors import ShopifyError
from segmentry.testing.shopify import FakeShopify


@pytest.fixture
def server(synced: Workspace, fake: FakeShopify) -> Iterator[WebhookServer]:
    # NOTE: a long interval: tests drain the queue themselves, deterministically.
    with WebhookServer(Path(synced.folder), fake.webhook_secret, interval=3600) as s:
        synced.close()  # the receiver opens the workspace when it applies
        yield s


def _customer(ws: Workspace, customer_id: str) -> dict:
    table = ws.warehouse.table("customers")
    rows = table.filter(table.customer_id == customer_id).to_pyarrow().to_pylist()
    ws.close()
    return rows[0] if rows else {}


def _webhook_rows(ws: Workspace) -> int:
    with ws.state.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.webhooks)).scalar())


def test_a_bad_signature_is_refused_and_nothing_is_stored(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    order = sorted(fake.data.objects["orders"])[0]
    response = fake.send_webhook(
        server.url, "orders/updated", fake.rest_order(order), secret="not-the-secret"
    )
    assert response.status_code == 401
    assert _webhook_rows(synced) == 0


def test_an_order_update_is_applied_once_even_if_delivered_twice(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    order_id = sorted(fake.data.objects["orders"])[0]
    order = fake.data.objects["orders"][order_id]
    order["tags"] = ["gift"]
    order["cancelledAt"] = fake.data.now()
    payload = fake.rest_order(order_id)
    first = fake.send_webhook(server.url, "orders/cancelled", payload, webhook_id="w-1")
    second = fake.send_webhook(server.url, "orders/cancelled", payload, webhook_id="w-1")
    assert (first.status_code, first.text) == (200, "queued")
    assert (second.status_code, second.text) == (200, "duplicate")
    assert server.drain() == 1
    orders = synced.warehouse.table("orders")
    row = orders.filter(orders.order_id == order_id.rsplit("/", 1)[-1]).to_pyarrow().to_pylist()
    lines = synced.warehouse.table("order_lines")
    kept = lines.filter(lines.order_id == order_id.rsplit("/", 1)[-1]).to_pyarrow().to_pylist()
    synced.close()
    assert row[0]["tags"] == ["gift"] and row[0]["cancelled_at"] is not None
    assert kept and all(line["product_type"] for line in kept)  # filled from the ledger


def test_customers_redact_erases_personal_data(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    customer = sorted(fake.data.objects["customers"])[0]
    number = customer.rsplit("/", 1)[-1]
    assert _customer(synced, number)["email"]
    payload = {
        "shop_id": 1,
        "shop_domain": fake.shop,
        "customer": {"id": int(number), "email": "x@example.jp"},
        "orders_to_redact": [],
    }
    assert fake.send_webhook(server.url, "customers/redact", payload).status_code == 200
    server.drain()
    row = _customer(synced, number)
    for column in ("email", "phone", "first_name", "last_name", "city", "region"):
        assert row[column] is None, column
    with synced.state.connect() as conn:
        bodies = conn.execute(sa.select(tables.webhooks.c.body)).scalars().all()
    assert bodies == [None]  # the queued body (personal data) is gone too


def test_customer_update_and_data_request(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    customer = sorted(fake.data.objects["customers"])[1]
    number = customer.rsplit("/", 1)[-1]
    fake.data.set_tags(customer, ["line", "vip"])
    fake.send_webhook(server.url, "customers/update", fake.rest_customer(customer))
    payload = {"customer": {"id": int(number)}, "data_request": {"id": 9}}
    fake.send_webhook(server.url, "customers/data_request", payload, webhook_id="dr-1")
    assert server.drain() == 2
    assert _customer(synced, number)["tags"] == ["line", "vip"]
    export = json.loads(
        (Path(synced.folder) / "privacy" / f"data_request_{number}_dr-1.json").read_text()
    )
    assert export["ledger"]["customers"][0]["customer_id"] == number
    assert export["ledger"]["customers"][0]["tags"] == ["line", "vip"]
    assert export["request"]["data_request"] == {"id": 9}
    orders = {o["order_id"] for o in export["ledger"]["orders"]}
    with Workspace.open(Path(synced.folder)) as ws:  # the customer's orders, counted apart
        table = ws.warehouse.table("orders")
        assert orders == set(table.filter(table.customer_id == number).order_id.execute())
    assert {li["order_id"] for li in export["ledger"]["order_lines"]} <= orders


def test_app_uninstalled_stops_syncs(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    fake.send_webhook(server.url, "app/uninstalled", {"id": 1, "domain": fake.shop})
    server.drain()
    with pytest.raises(ShopifyError, match="uninstalled"):
        settings_of(synced)


def test_line_totals_come_from_the_discount_allocations(
    synced: Workspace, fake: FakeShopify, server: WebhookServer
) -> None:
    """A REST order's line is discounted by its ``discount_allocations``: Shopify's
    ``total_discount`` reads 0.00 for codes and automatic discounts (the fake sends it so)."""
    order_id = sorted(fake.data.objects["orders"])[0]
    order = fake.data.objects["orders"][order_id]
    line = order["lineItems"][0]
    unit = Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"])
    expected = unit * line["quantity"] - Decimal("123")  # a 123 discount on the first line
    line["discountedTotalSet"]["shopMoney"]["amount"] = format(expected, "f")
    payload = fake.rest_order(order_id)
    sent = payload["line_items"][0]
    assert (sent["total_discount"], sent["discount_allocations"][0]["amount"]) == ("0.00", "123.00")
    assert fake.send_webhook(server.url, "orders/updated", payload).status_code == 200
    assert server.drain() == 1
    lines = synced.warehouse.table("order_lines")
    line_id = line["id"].rsplit("/", 1)[-1]
    stored = lines.filter(lines.line_id == line_id).to_pyarrow().to_pylist()
    synced.close()
    assert [Decimal(str(row["total"])) for row in stored] == [expected]


def test_a_customer_update_keeps_the_synced_customer_data(
    synced: Workspace, fake: FakeShopify, server: WebhookServer, store_tables: dict
) -> None:
    """A REST body has no language, subscription state, companies, coordinates or metafields:
    the webhook keeps what the sync read (and takes the account state it does carry)."""
    rows = {r["customer_id"]: r for r in store_tables["customers"].to_pylist()}
    number = next(c for c, r in sorted(rows.items()) if r["metafield_keys"])
    customer = f"gid://shopify/Customer/{number}"
    fake.data.objects["customers"][customer]["state"] = "INVITED"
    fake.data.set_tags(customer, ["line"])
    fake.send_webhook(server.url, "customers/update", fake.rest_customer(customer))
    assert server.drain() == 1
    stored = _customer(synced, number)
    assert stored["tags"] == ["line"] and stored["account_state"] == "INVITED"
    for name in ("locale", "product_subscriber_status", "metafield_keys", "metafield_values",
                 "company_ids"):
        assert stored[name] == rows[number][name], name
    assert stored["latitude"] == pytest.approx(rows[number]["latitude"])
