"""From Shopify's payloads to members: orders' app and retail location, dated refunds and
products' categories travel through the bulk backfill, the incremental pages and the
webhooks into the ledger, and segments read them with Shopify's meaning.

The fake serves a three-customer store (Tokyo; every event at 12:00 local):

    a  o1 2024-03-02, 10000 (web app 580111, 2 x P1 Skin Care); refunds 3000 on 03-10
       and 2000 on 03-20
    b  o2 2024-03-05, 8000 (POS app 129785, location 7001, 1 x P2 Hair Care); refunded in
       full on 03-06
    c  o3 2024-03-03, 6000 (web, 3 x P1); no refunds
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from segmentry.analytics.evaluation import members_on
from segmentry.analytics.facts import build_facts
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import sync_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.connectors.shopify.webhooks import apply
from segmentry.testing.shopify import FakeShopify

D = dt.date
A, B, C = "101", "102", "103"  # customers a, b, c (Shopify's ids are numbers)


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 Tokyo, as naive UTC


def _money(n: int) -> Decimal:
    return Decimal(n).quantize(Decimal("0.01"))


def _tables() -> dict[str, pa.Table]:
    customers = [{"customer_id": c, "created_at": _noon(D(2024, 3, 1)),
                  "email": f"{c}@example.jp"} for c in (A, B, C)]
    orders = [
        ("o1", A, D(2024, 3, 2), 10000, 5000, "580111", None, "P1", 2),
        ("o2", B, D(2024, 3, 5), 8000, 8000, "129785", "7001", "P2", 1),
        ("o3", C, D(2024, 3, 3), 6000, 0, "580111", None, "P1", 3),
    ]
    return {
        "products": pa.Table.from_pylist([
            {"product_id": "11", "title": "Serum", "category_id": "hb-3-2",
             "category_name": "Skin Care"},
            {"product_id": "12", "title": "Shampoo", "category_id": "hb-3-1",
             "category_name": "Hair Care"},
        ]),
        "customers": pa.Table.from_pylist(customers),
        "orders": pa.Table.from_pylist([
            {"order_id": o.lstrip("o"), "customer_id": c, "processed_at": _noon(day),
             "total": _money(total), "subtotal": _money(total), "refunded": _money(refunded),
             "source_name": "pos" if loc else "web", "app_id": app, "location_id": loc}
            for o, c, day, total, refunded, app, loc, _, _ in orders
        ]),
        "order_lines": pa.Table.from_pylist([
            {"order_id": o.lstrip("o"), "line_id": f"{o.lstrip('o')}0",
             "product_id": {"P1": "11", "P2": "12"}[p], "title": p, "quantity": q,
             "unit_price": _money(total // q), "total": _money(total)}
            for o, _, _, total, _, _, _, p, q in orders
        ]),
        "refunds": pa.Table.from_pylist([
            {"refund_id": "91", "order_id": "1", "created_at": _noon(D(2024, 3, 10)),
             "amount": _money(3000)},
            {"refund_id": "92", "order_id": "1", "created_at": _noon(D(2024, 3, 20)),
             "amount": _money(2000)},
            {"refund_id": "93", "order_id": "2", "created_at": _noon(D(2024, 3, 6)),
             "amount": _money(8000)},
        ]),
    }


@pytest.fixture
def shop() -> Iterator[FakeShopify]:
    with FakeShopify(timeout_seconds=0.5) as fake:
        fake.seed(_tables())
        yield fake


@pytest.fixture
def ws(tmp_path: Path, shop: FakeShopify) -> Iterator[Workspace]:
    workspace = Workspace.create(tmp_path / "ws", shop_id="shop")
    connect_workspace(workspace, shop.shop, shop.token, endpoint=shop.url)
    try:
        yield workspace
    finally:
        workspace.close()


def _members(ws: Workspace, query: str, day: dt.date) -> list[str]:
    build_facts(ws.warehouse, subtract_refunds=True)
    got = ws.warehouse.to_pyarrow(members_on(ws.warehouse, ws.validate(query), day))
    return sorted(got["customer_id"].to_pylist())


def test_the_backfill_brings_refunds_apps_locations_and_categories(ws: Workspace) -> None:
    report = sync_store(ws)
    assert report.mode["orders"] == "bulk"
    refunds = ws.warehouse.to_pyarrow(ws.warehouse.table("refunds").order_by("refund_id"))
    assert refunds.select(["refund_id", "order_id", "created_on"]).to_pylist() == [
        {"refund_id": "91", "order_id": "1", "created_on": D(2024, 3, 10)},
        {"refund_id": "92", "order_id": "1", "created_on": D(2024, 3, 20)},
        {"refund_id": "93", "order_id": "2", "created_on": D(2024, 3, 6)},
    ]
    assert refunds["amount"].to_pylist() == [_money(3000), _money(2000), _money(8000)]
    assert _members(ws, "amount_spent >= 8000", D(2024, 3, 5)) == [A, B]
    assert _members(ws, "amount_spent >= 8000", D(2024, 3, 6)) == [A]
    assert _members(ws, "amount_spent >= 8000", D(2024, 3, 10)) == []
    assert _members(ws, "amount_spent = 5000", D(2024, 3, 31)) == [A]
    assert _members(ws, "orders_placed MATCHES (location_id = 7001)", D(2024, 3, 31)) == [B]
    assert _members(ws, "orders_placed(app_id: 580111) = true", D(2024, 3, 31)) == [A, C]
    assert _members(ws, "products_purchased MATCHES (category = 'hb-3-2', sum_quantity >= 3)",
                    D(2024, 3, 31)) == [C]
    assert _members(ws, "orders_placed MATCHES (sum_amount BETWEEN 7000 AND 9000)",
                    D(2024, 3, 31)) == [B]


def test_a_refund_webhook_changes_only_the_days_after_it(
    ws: Workspace, shop: FakeShopify
) -> None:
    sync_store(ws)
    order = shop.data.objects["orders"]["gid://shopify/Order/3"]
    order["refunds"] = [{"id": "gid://shopify/Refund/94", "createdAt": "2024-03-15T03:00:00Z",
                         "totalRefundedSet": {"shopMoney": {"amount": "6000.00"}}}]
    order["totalRefundedSet"] = {"shopMoney": {"amount": "6000.00"}}
    order["updatedAt"] = "2024-03-15T03:00:01Z"
    apply(ws, "orders/updated", shop.rest_order("gid://shopify/Order/3"))
    assert _members(ws, "amount_spent >= 6000", D(2024, 3, 14)) == [A, C]
    assert _members(ws, "amount_spent >= 6000", D(2024, 3, 15)) == [A]
    # refunds/create on its own brings the refund's day too
    apply(ws, "refunds/create", {"id": 95, "order_id": 1, "created_at": "2024-03-25T03:00:00Z",
                                 "transactions": [{"kind": "refund", "status": "success",
                                                   "amount": "100.00"}]})
    refunds = ws.warehouse.table("refunds")
    row = ws.warehouse.to_pyarrow(refunds.filter(refunds.refund_id == "95")).to_pylist()
    assert [(r["order_id"], r["created_on"], r["amount"]) for r in row] == [
        ("1", D(2024, 3, 25), _money(100))
    ]


def test_later_syncs_read_new_refunds_by_page(ws: Workspace, shop: FakeShopify) -> None:
    sync_store(ws)
    order = shop.data.objects["orders"]["gid://shopify/Order/3"]
    order["refunds"] = [{"id": "gid://shopify/Refund/96", "createdAt": "2024-03-12T03:00:00Z",
                         "totalRefundedSet": {"shopMoney": {"amount": "1000.00"}}}]
    order["totalRefundedSet"] = {"shopMoney": {"amount": "1000.00"}}
    order["updatedAt"] = shop.data.now()
    shop.data.touch()
    report = sync_store(ws)
    assert report.mode["orders"] == "pages"
    assert _members(ws, "amount_spent = 6000", D(2024, 3, 11)) == [C]
    assert _members(ws, "amount_spent = 5000", D(2024, 3, 12)) == [C]  # a: 7000 by then
