"""Shopify's own ``rfm_group`` and ``predicted_spend_tier``: read from Customer.statistics by
the bulk and page syncs, kept as observations over time, read by segments as last observed;
segmentry's rules answer to ``rfm_segment`` / ``spend_tier``.

The fake's store: a (LOYAL, HIGH), b (NEW, LOW), c (no statistics computed by Shopify); b has
one order (so segmentry's own rules put b in NEW by recency on its order day).
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
A, B, C = "101", "102", "103"
LATER, BEFORE = D(2099, 1, 1), D(2000, 1, 1)  # after every sync; before any


def _tables() -> dict[str, pa.Table]:
    created = dt.datetime(2024, 3, 1, 3)
    customers = [
        {"customer_id": A, "created_at": created, "rfm_group": "LOYAL",
         "predicted_spend_tier": "HIGH"},
        {"customer_id": B, "created_at": created, "rfm_group": "NEW",
         "predicted_spend_tier": "LOW"},
        {"customer_id": C, "created_at": created, "rfm_group": None,
         "predicted_spend_tier": None},
    ]
    orders = [{"order_id": "1", "customer_id": B, "processed_at": dt.datetime(2024, 3, 2, 3),
               "total": Decimal("1000.00")}]
    return {"customers": pa.Table.from_pylist(customers), "orders": pa.Table.from_pylist(orders)}


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


def _history(ws: Workspace) -> list[tuple[str, str | None, str | None]]:
    table = ws.warehouse.table("customer_statistics_history").order_by(["customer_id", "seen_at"])
    rows = ws.warehouse.to_pyarrow(table).to_pylist()
    return [(r["customer_id"], r["rfm_group"], r["predicted_spend_tier"]) for r in rows]


def test_syncs_observe_shopifys_statistics_over_time(ws: Workspace, shop: FakeShopify) -> None:
    assert sync_store(ws).mode["customers"] == "bulk"
    assert _history(ws) == [(A, "LOYAL", "HIGH"), (B, "NEW", "LOW")]  # c: none computed
    assert _members(ws, "rfm_group = 'loyal'", LATER) == [A]
    assert _members(ws, "predicted_spend_tier = 'LOW'", LATER) == [B]
    assert _members(ws, "rfm_group IS NULL", LATER) == [C]
    assert _members(ws, "rfm_group IS NOT NULL", BEFORE) == []  # nothing observed yet
    # segmentry's own rules, under their own names: b's one order of 2024-03-02
    assert _members(ws, "rfm_segment = 'NEW'", D(2024, 3, 10)) == [B]
    assert _members(ws, "spend_tier = 'LOW'", D(2024, 3, 10)) == [A, B, C]

    # Shopify moves a to CHAMPIONS (and a changes); b is read again unchanged
    customer = shop.data.objects["customers"][f"gid://shopify/Customer/{A}"]
    customer["statistics"] = {"rfmGroup": "CHAMPIONS", "predictedSpendTier": "HIGH"}
    shop.data.set_tags(customer["id"], ["vip"])
    other = shop.data.objects["customers"][f"gid://shopify/Customer/{B}"]
    shop.data.set_tags(other["id"], ["line"])
    assert sync_store(ws).mode["customers"] == "pages"
    assert _history(ws) == [(A, "LOYAL", "HIGH"), (A, "CHAMPIONS", "HIGH"), (B, "NEW", "LOW")]
    assert _members(ws, "rfm_group = 'CHAMPIONS'", LATER) == [A]

    # a webhook body carries no statistics: it records nothing and removes nothing
    apply(ws, "customers/update", shop.rest_customer(customer["id"]))
    assert len(_history(ws)) == 3
    assert _members(ws, "rfm_group = 'CHAMPIONS'", LATER) == [A]
