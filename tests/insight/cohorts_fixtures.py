"""A tiny store for the cohorts and first-product tests, every figure worked out by hand in
the tests (shop zone Asia/Tokyo; products and helpers of ``tests/core/fixtures/small_store``).

    a1  created 2024-01-01: 01-10 Vitamin C Serum (1001, instagram, WELCOME10) 5000;
        01-25 Foam Cleanser (1003) 2500; 03-05 Scalp Shampoo (1004) 2000
    a2  created 2024-01-02: 01-20 Foam Cleanser + Scalp Shampoo (google) 4500;
        02-10 Vitamin C Serum 5000, 1000 refunded the same day
    a3  created 2024-02-01: 02-01 Hydra Serum (1002) cancelled 02-03; 02-14 Vitamin C Serum
        (instagram) 5000 — its first order
    a4  created 2024-03-01: Body Lotion (1005, direct) 3000 at 2024-03-31 20:00 UTC, which is
        2024-04-01 05:00 in Tokyo: an April customer
    a5  created 2024-03-01, never ordered
    a6  created 2023-01-01: Hydra Serum (google) on 2023-05-01, 2023-06-10 and 2024-05-01,
        4500 each (2024-05-01 is 366 days after the first: outside its 12-month LTV)

The day asked about is 2024-06-30.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.fixtures.small_store import _noon, _table, order, order_tables
from core.fixtures.small_store import tables as small_store_tables
from segmentry.app.workspace import Workspace

DAY = dt.date(2024, 6, 30)
TIMEZONE = "Asia/Tokyo"

CREATED = {"a1": "2024-01-01", "a2": "2024-01-02", "a3": "2024-02-01", "a4": "2024-03-01",
           "a5": "2024-03-01", "a6": "2023-01-01"}

ORDERS: list[dict[str, Any]] = [
    order("o11", "a1", _noon("2024-01-10"), [("1001", 1)], "instagram", codes=("WELCOME10",)),
    order("o12", "a1", _noon("2024-01-25"), [("1003", 1)], "line"),
    order("o13", "a1", _noon("2024-03-05"), [("1004", 1)], "email"),
    order("o21", "a2", _noon("2024-01-20"), [("1003", 1), ("1004", 1)], "google"),
    order("o22", "a2", _noon("2024-02-10"), [("1001", 1)], "email", refunded=1000),
    order("o30", "a3", _noon("2024-02-01"), [("1002", 1)], "google",
          cancelled_at=_noon("2024-02-03")),
    order("o31", "a3", _noon("2024-02-14"), [("1001", 1)], "instagram"),
    order("o41", "a4", dt.datetime(2024, 3, 31, 20, 0), [("1005", 1)], "direct"),
    order("o61", "a6", _noon("2023-05-01"), [("1002", 1)], "google"),
    order("o62", "a6", _noon("2023-06-10"), [("1002", 1)], "line"),
    order("o63", "a6", _noon("2024-05-01"), [("1002", 1)], "line"),
]


def tables(shop_id: str = "shop") -> dict[str, pa.Table]:
    """The tiny store as ledger tables (products from the small store)."""
    products = small_store_tables(shop_id)["products"]
    customers = _table("customers", [
        {"shop_id": shop_id, "customer_id": cid, "email": f"{cid}@example.jp",
         "first_name": cid.upper(), "created_at": _noon(day), "updated_at": _noon(day)}
        for cid, day in CREATED.items()
    ])
    return {"products": products, "customers": customers, **order_tables(ORDERS, shop_id)}


def workspace(folder: Path, warehouse_url: str | None = None) -> Workspace:
    """A workspace holding the tiny store, computed through :data:`DAY`."""
    ws = Workspace.create(folder, warehouse_url=warehouse_url)
    ws.import_tables(tables())
    ws.run(DAY)
    return ws
