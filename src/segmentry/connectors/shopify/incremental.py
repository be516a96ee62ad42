"""Later syncs: what changed since the last one, page by page, sorted by ``UPDATED_AT``.

Each resource keeps a high-water mark (the newest ``updatedAt`` written to the ledger). The next
sync asks for ``updated_at:>='<mark − overlap>'`` so rows updated in the same second, or
committed late on Shopify's side, are read again (an upsert makes that harmless). Pages are
small enough to stay under Shopify's 1,000-point single-query limit; an order with more line
items than one page holds gets the rest with follow-up ``order(id:)`` queries. When more rows
changed than ``bulk_threshold``, a bulk query with the same filter is used instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any

import pyarrow as pa

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.mapping import (
    CUSTOMER_FIELDS,
    LINE_FIELDS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    RAW_PRODUCTS,
    customer_fields,
    flatten_orders,
)
from segmentry.core.errors import ShopifyError

__all__ = ["OVERLAP", "PAGE_SIZES", "changed_count", "pages", "since_filter"]

OVERLAP = dt.timedelta(minutes=5)
PAGE_SIZES = {"customers": 100, "products": 100, "orders": 10}
_LINES_PER_ORDER = 10
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_QUERIES = {
    "customers": f"""query page($first: Int!, $cursor: String, $q: String) {{
  customers(first: $first, after: $cursor, query: $q, sortKey: UPDATED_AT) {{
    {_PAGE_INFO} nodes {{ {CUSTOMER_FIELDS} }} }} }}""",
    "products": f"""query page($first: Int!, $cursor: String, $q: String) {{
  products(first: $first, after: $cursor, query: $q, sortKey: UPDATED_AT) {{
    {_PAGE_INFO} nodes {{ {PRODUCT_FIELDS} }} }} }}""",
    "orders": f"""query page($first: Int!, $cursor: String, $q: String) {{
  orders(first: $first, after: $cursor, query: $q, sortKey: UPDATED_AT) {{
    {_PAGE_INFO} nodes {{ {ORDER_FIELDS}
      lineItems(first: {_LINES_PER_ORDER}) {{ {_PAGE_INFO} nodes {{ {LINE_FIELDS} }} }} }} }} }}""",
}
_MORE_LINES = f"""query lines($id: ID!, $cursor: String) {{
  order(id: $id) {{ lineItems(first: 100, after: $cursor) {{
    {_PAGE_INFO} nodes {{ {LINE_FIELDS} }} }} }} }}"""
_COUNTS = {
    "customers": "query n($q: String) { customersCount(query: $q) { count } }",
    "orders": "query n($q: String) { ordersCount(query: $q) { count } }",
}
_RAW = {"customers": RAW_CUSTOMERS, "products": RAW_PRODUCTS, "orders": RAW_ORDERS}


def since_filter(high_water: str | None, overlap: dt.timedelta = OVERLAP) -> str | None:
    """The search filter for rows updated since ``high_water`` (minus the overlap).

    >>> since_filter("2026-01-05T10:00:00Z")
    "updated_at:>='2026-01-05T09:55:00Z'"
    """
    if not high_water:
        return None
    stamp = dt.datetime.fromisoformat(high_water.replace("Z", "+00:00")) - overlap
    return f"updated_at:>='{stamp.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}'"


def changed_count(client: ShopifyClient, resource: str, search: str | None) -> int | None:
    """How many rows match ``search`` (None where Shopify has no count query for it)."""
    query = _COUNTS.get(resource)
    if query is None:
        return None
    data = client.execute(query, {"q": search})
    return int((data.get(f"{resource}Count") or {}).get("count") or 0)


def pages(
    client: ShopifyClient, resource: str, search: str | None, withheld: Iterable[str] = (),
    metafields: Iterable[str] = (),
) -> Iterator[pa.Table]:
    """Raw tables (see :mod:`~segmentry.connectors.shopify.mapping`), one per page, customers
    without the protected data in ``withheld``, with the ``metafields``. A page Shopify refuses
    as too costly (``MAX_COST_EXCEEDED``) is asked for again with half as many rows, down to one."""
    cursor: str | None = None
    first = PAGE_SIZES[resource]
    query = _QUERIES[resource].replace(CUSTOMER_FIELDS, customer_fields(withheld, metafields))
    while True:
        variables = {"first": first, "cursor": cursor, "q": search}
        try:
            data = client.execute(query, variables, cost=500)
        except ShopifyError as e:
            if e.code != "max_cost_exceeded" or first == 1:
                raise
            first = max(1, first // 2)  # Shopify's single-query cost limit: ask for fewer
            continue
        connection = data[resource]
        nodes = connection["nodes"]
        if resource == "orders":
            for node in nodes:
                _complete_lines(client, node)
            rows: list[dict[str, Any]] = flatten_orders(nodes)
        else:
            rows = nodes
        if rows:
            yield pa.Table.from_pylist(rows, schema=_RAW[resource])
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return
        cursor = info["endCursor"]


def _complete_lines(client: ShopifyClient, order: dict[str, Any]) -> None:
    """Fetch the rest of an order's line items when the first page did not hold them all."""
    items = order.get("lineItems") or {}
    info = items.get("pageInfo") or {}
    while info.get("hasNextPage"):
        data = client.execute(_MORE_LINES, {"id": order["id"], "cursor": info["endCursor"]})
        more = data["order"]["lineItems"]
        items["nodes"] = [*items["nodes"], *more["nodes"]]
        info = more["pageInfo"]
