"""A tiny store for the segment-transition and RFM-grid tests, every figure worked out by hand
in the tests (shop zone Asia/Tokyo; helpers of ``tests/core/fixtures/small_store``).

Everyone is created 2024-01-01; orders at noon in Tokyo:

    a  01-10, 02-10, 03-10                      3 orders on both days
    b  01-15, 03-20, 05-01                      2 on 03-31, 3 on 06-30
    c  02-01                                    1, 1
    d  04-15                                    0, 1
    e  02-20, 06-01                             1, 2
    f  03-05, cancelled 05-10                   1, 0
    g  never ordered                            0, 0
    h  01-05, 02-05, 03-05 (cancelled 04-20)    3, 2

Shopify's statistics (customer_statistics_history): a CHAMPIONS seen 2024-05-01, LOYAL seen
2024-06-10; b NEW seen 2024-05-01.

The group is ``loyal3`` (number_of_orders >= 3), ``repeat2`` (>= 2), ``one`` (= 1), in that
order; the days are 2024-03-31 and 2024-06-30 (the current day).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from core.fixtures.small_store import _noon, _table, order, order_tables
from core.fixtures.small_store import tables as small_store_tables
from segmentry.app.workspace import Workspace

START, END = dt.date(2024, 3, 31), dt.date(2024, 6, 30)
GROUP = ("loyal3", "repeat2", "one")
QUERIES = {"loyal3": "number_of_orders >= 3", "repeat2": "number_of_orders >= 2",
           "one": "number_of_orders = 1"}
CUSTOMERS = ("a", "b", "c", "d", "e", "f", "g", "h")

ORDERS: list[dict[str, Any]] = [
    order("oa1", "a", _noon("2024-01-10"), [("1001", 1)], "instagram"),
    order("oa2", "a", _noon("2024-02-10"), [("1003", 1)], "line"),
    order("oa3", "a", _noon("2024-03-10"), [("1004", 1)], "email"),
    order("ob1", "b", _noon("2024-01-15"), [("1002", 1)], "google"),
    order("ob2", "b", _noon("2024-03-20"), [("1001", 1)], "email"),
    order("ob3", "b", _noon("2024-05-01"), [("1001", 1)], "email"),
    order("oc1", "c", _noon("2024-02-01"), [("1005", 1)], "direct"),
    order("od1", "d", _noon("2024-04-15"), [("1005", 1)], "direct"),
    order("oe1", "e", _noon("2024-02-20"), [("1003", 1)], "line"),
    order("oe2", "e", _noon("2024-06-01"), [("1003", 1)], "line"),
    order("of1", "f", _noon("2024-03-05"), [("1001", 1)], "google",
          cancelled_at=_noon("2024-05-10")),
    order("oh1", "h", _noon("2024-01-05"), [("1004", 1)], "direct"),
    order("oh2", "h", _noon("2024-02-05"), [("1004", 1)], "direct"),
    order("oh3", "h", _noon("2024-03-05"), [("1004", 1)], "direct",
          cancelled_at=_noon("2024-04-20")),
]


def tables(shop_id: str = "shop", *, statistics: bool = True) -> dict[str, pa.Table]:
    products = small_store_tables(shop_id)["products"]
    customers = _table("customers", [
        {"shop_id": shop_id, "customer_id": cid, "email": f"{cid}@example.jp",
         "first_name": cid.upper(), "created_at": _noon("2024-01-01"),
         "updated_at": _noon("2024-01-01")}
        for cid in CUSTOMERS
    ])
    result = {"products": products, "customers": customers, **order_tables(ORDERS, shop_id)}
    if statistics:
        result["customer_statistics_history"] = _table("customer_statistics_history", [
            {"shop_id": shop_id, "customer_id": cid, "seen_at": _noon(day), "rfm_group": group}
            for cid, day, group in (("a", "2024-05-01", "CHAMPIONS"),
                                    ("a", "2024-06-10", "LOYAL"),
                                    ("b", "2024-05-01", "NEW"))
        ])
    return result


def workspace(folder: Path, warehouse_url: str | None = None, *,
              statistics: bool = True) -> Workspace:
    """The tiny store computed through :data:`END`, with the group's three segments."""
    ws = Workspace.create(folder, warehouse_url=warehouse_url)
    ws.import_tables(tables(statistics=statistics))
    ws.run(END)
    for key in GROUP:
        ws.add_segment(key, QUERIES[key])
    return ws
