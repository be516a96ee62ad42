"""Everything the ledger holds on one customer, for a data request (Shopify's
``customers/data_request``, or a person asking under Japan's APPI): each ledger table's rows of
the customer, and, for tables keyed by order (lines, refunds), the rows of their orders.

>>> import datetime as dt
>>> import pyarrow as pa
>>> from segmentry.engine import connect
>>> from segmentry.ledger.store import ensure_ledger
>>> con = connect("duckdb://")
>>> ensure_ledger(con)
>>> rows = customer_rows(con, "shop", "c1")
>>> rows["customers"], rows["order_lines"]
([], [])
"""

from __future__ import annotations

from typing import Any

import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.ledger.schema import TABLES

__all__ = ["customer_rows"]


def customer_rows(
    con: BaseBackend, shop_id: str, customer_id: str
) -> dict[str, list[dict[str, Any]]]:
    """Per ledger table (those that exist), the customer's rows; tables with neither a
    customer nor an order column (products) are left out."""
    present = set(con.list_tables())
    out: dict[str, list[dict[str, Any]]] = {}
    for name, schema in TABLES.items():
        if name not in present:
            continue
        rows = _rows_of(con, name, schema.names, shop_id, customer_id)
        if rows is not None:
            out[name] = con.to_pyarrow(rows).to_pylist()
    return out


def _rows_of(con: BaseBackend, name: str, columns: tuple[str, ...] | list[str], shop_id: str,
             customer_id: str) -> ir.Table | None:
    table = con.table(name)
    if "customer_id" in columns:
        return table.filter((table.shop_id == shop_id) & (table.customer_id == customer_id))
    if "order_id" in columns:
        orders = con.table("orders")
        theirs = orders.filter((orders.shop_id == shop_id)
                               & (orders.customer_id == customer_id)).order_id
        return table.filter((table.shop_id == shop_id) & table.order_id.isin(theirs))
    return None
