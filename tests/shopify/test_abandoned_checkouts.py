"""From Shopify's abandoned checkouts to ``abandoned_checkout_date``: the bulk backfill, the
incremental pages and the ``checkouts/*`` webhooks bring them into the ledger, and a segment
reads the day of the customer's latest checkout not completed by then.

The fake serves a three-customer store (Tokyo; every event at 12:00 local unless said):

    a  checkout 501 on 2024-03-02, never completed; 502 on 03-10, completed 03-12
    b  checkout 503 on 2024-03-05 00:30 Tokyo (03-04 15:30 UTC), never completed
    c  none; a guest's checkout 504 (no customer) on 03-06
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 Tokyo, as naive UTC


def _tables() -> dict[str, pa.Table]:
    customers = [{"customer_id": c, "created_at": _noon(D(2024, 3, 1)),
                  "email": f"{c}@example.jp"} for c in (A, B, C)]
    checkouts = [
        {"checkout_id": "501", "customer_id": A, "created_at": _noon(D(2024, 3, 2)),
         "completed_at": None},
        {"checkout_id": "502", "customer_id": A, "created_at": _noon(D(2024, 3, 10)),
         "completed_at": _noon(D(2024, 3, 12))},
        {"checkout_id": "503", "customer_id": B, "created_at": dt.datetime(2024, 3, 4, 15, 30)},
        {"checkout_id": "504", "customer_id": None, "created_at": _noon(D(2024, 3, 6))},
    ]
    return {"customers": pa.Table.from_pylist(customers),
            "abandoned_checkouts": pa.Table.from_pylist(checkouts)}


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


def _stored(ws: Workspace) -> list[dict[str, object]]:
    table = ws.warehouse.table("abandoned_checkouts").order_by("checkout_id")
    columns = ["checkout_id", "customer_id", "created_on", "completed_on"]
    return ws.warehouse.to_pyarrow(table.select(*columns)).to_pylist()


def test_the_backfill_brings_checkouts_and_segments_read_them(ws: Workspace) -> None:
    report = sync_store(ws)
    assert report.mode["abandonedCheckouts"] == "bulk"
    assert report.rows["abandonedCheckouts"] == 4
    assert _stored(ws) == [
        {"checkout_id": "501", "customer_id": A, "created_on": D(2024, 3, 2),
         "completed_on": None},
        {"checkout_id": "502", "customer_id": A, "created_on": D(2024, 3, 10),
         "completed_on": D(2024, 3, 12)},
        {"checkout_id": "503", "customer_id": B, "created_on": D(2024, 3, 5),
         "completed_on": None},
        {"checkout_id": "504", "customer_id": None, "created_on": D(2024, 3, 6),
         "completed_on": None},
    ]
    # as of 03-11 a's latest open checkout is 502 (03-10); from 03-12 it is 501 (03-02)
    assert _members(ws, "abandoned_checkout_date = 2024-03-10", D(2024, 3, 11)) == [A]
    assert _members(ws, "abandoned_checkout_date = 2024-03-10", D(2024, 3, 12)) == []
    assert _members(ws, "abandoned_checkout_date = 2024-03-02", D(2024, 3, 12)) == [A]
    assert _members(ws, "abandoned_checkout_date >= 2024-03-05", D(2024, 3, 31)) == [B]
    assert _members(ws, "abandoned_checkout_date IS NULL", D(2024, 3, 4)) == [B, C]


def test_pages_and_webhooks_bring_new_and_completed_checkouts(
    ws: Workspace, shop: FakeShopify
) -> None:
    sync_store(ws)
    # b completes 503; c starts one: the next sync reads both changes page by page
    shop.data.add_checkout({"checkout_id": "503", "customer_id": B,
                            "created_at": dt.datetime(2024, 3, 4, 15, 30),
                            "completed_at": _noon(D(2024, 3, 20)),
                            "updated_at": dt.datetime(2030, 1, 1)})
    shop.data.add_checkout({"checkout_id": "505", "customer_id": C,
                            "created_at": _noon(D(2024, 3, 21)),
                            "updated_at": dt.datetime(2030, 1, 1)})
    report = sync_store(ws)
    assert report.mode["abandonedCheckouts"] == "pages"
    # the two changed, and 502 again: updated at the mark, read again by the overlap
    assert report.rows["abandonedCheckouts"] == 3
    assert _members(ws, "abandoned_checkout_date IS NOT NULL", D(2024, 3, 19)) == [A, B]
    assert _members(ws, "abandoned_checkout_date IS NOT NULL", D(2024, 3, 21)) == [A, C]
    # a webhook: c's checkout 505 completed on 03-25 (a later update than the sync's)
    checkout = shop.data.add_checkout({"checkout_id": "505", "customer_id": C,
                                       "created_at": _noon(D(2024, 3, 21)),
                                       "completed_at": _noon(D(2024, 3, 25)),
                                       "updated_at": dt.datetime(2030, 1, 2)})
    apply(ws, "checkouts/update", shop.rest_checkout(checkout["id"]))
    assert _members(ws, "abandoned_checkout_date IS NOT NULL", D(2024, 3, 25)) == [A]
    # an older update delivered late changes nothing
    stale = {**shop.rest_checkout(checkout["id"]), "completed_at": None,
             "updated_at": "2030-01-01T00:00:00Z"}
    apply(ws, "checkouts/create", stale)
    assert _members(ws, "abandoned_checkout_date IS NOT NULL", D(2024, 3, 25)) == [A]
