"""Later syncs: what changed since the last one, page by page, sorted by ``UPDATED_AT``.

Each resource keeps a high-water mark (the newest ``updatedAt`` written to the ledger). The next
sync asks for ``updated_at:>='<mark − overlap>'`` so rows updated in the same second, or
committed late on Shopify's side, are read again (an upsert makes that harmless). Pages are
small enough to stay under Shopify's 1,000-point single-query limit; an order with more line
items than one page holds gets the rest with follow-up ``order(id:)`` queries. When more rows
changed than ``bulk_threshold``, a bulk query with the same filter is used instead.

Partial data: Shopify may answer a page with ``data`` *and* ``errors`` whose ``path`` names
fields of some objects (``["orders", "nodes", 3, "customerJourneySummary"]``: that field is
null). The page's other objects are stored; the failed ones are not (a null standing for an
error would overwrite what the ledger holds) but handed to ``on_errors`` (gid → error code) so
the sync remembers them, moves its mark on, and reads them again by id
(:func:`read_again`) at the next sync.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pyarrow as pa

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.mapping import (
    CHECKOUT_FIELDS,
    CUSTOMER_FIELDS,
    LINE_FIELDS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    RAW_CHECKOUTS,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    RAW_PRODUCTS,
    customer_fields,
    flatten_orders,
)
from segmentry.core.errors import ShopifyError

__all__ = ["OVERLAP", "PAGE_SIZES", "changed_count", "pages", "read_again", "since_filter"]

OVERLAP = dt.timedelta(minutes=5)
PAGE_SIZES = {"customers": 100, "products": 100, "orders": 10, "abandonedCheckouts": 100}
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
    # NOTE: AbandonedCheckoutSortKeys has no UPDATED_AT: pages come in id order, so the sync
    # moves this mark only once every page is stored.
    "abandonedCheckouts": f"""query page($first: Int!, $cursor: String, $q: String) {{
  abandonedCheckouts(first: $first, after: $cursor, query: $q) {{
    {_PAGE_INFO} nodes {{ {CHECKOUT_FIELDS} }} }} }}""",
}
_MORE_LINES = f"""query lines($id: ID!, $cursor: String) {{
  order(id: $id) {{ lineItems(first: 100, after: $cursor) {{
    {_PAGE_INFO} nodes {{ {LINE_FIELDS} }} }} }} }}"""
_COUNTS = {
    "customers": "query n($q: String) { customersCount(query: $q) { count } }",
    "orders": "query n($q: String) { ordersCount(query: $q) { count } }",
}
_RAW = {"customers": RAW_CUSTOMERS, "products": RAW_PRODUCTS, "orders": RAW_ORDERS,
        "abandonedCheckouts": RAW_CHECKOUTS}
_FIELDS = {"customers": ("Customer", CUSTOMER_FIELDS), "products": ("Product", PRODUCT_FIELDS),
           "abandonedCheckouts": ("AbandonedCheckout", CHECKOUT_FIELDS),
           "orders": ("Order", f"""{ORDER_FIELDS}
      lineItems(first: {_LINES_PER_ORDER}) {{ {_PAGE_INFO} nodes {{ {LINE_FIELDS} }} }}""")}
_AGAIN_BATCH = 10
OnErrors = Callable[[Mapping[str, str]], None]


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
    on_errors: OnErrors | None = None,
) -> Iterator[pa.Table]:
    """Raw tables (see :mod:`~segmentry.connectors.shopify.mapping`), one per page, customers
    without the protected data in ``withheld``, with the ``metafields``. A page Shopify refuses
    as too costly (``MAX_COST_EXCEEDED``) is asked for again with half as many rows, down to
    one. Objects answered with field errors are left out and handed to ``on_errors`` before
    their page is yielded (see the module docstring)."""
    cursor: str | None = None
    first = PAGE_SIZES[resource]
    query = _QUERIES[resource].replace(CUSTOMER_FIELDS, customer_fields(withheld, metafields))
    while True:
        variables = {"first": first, "cursor": cursor, "q": search}
        try:
            data, errors = client.execute_partial(query, variables, cost=500)
        except ShopifyError as e:
            if e.code != "max_cost_exceeded" or first == 1:
                raise
            first = max(1, first // 2)  # Shopify's single-query cost limit: ask for fewer
            continue
        connection = data.get(resource)
        if connection is None:  # NOTE: the error nulled the whole connection: nothing to keep
            raise ShopifyError("Shopify GraphQL error: {detail}", code="graphql",
                               params={"detail": str(errors[0].get("message", errors[0]))})
        nodes, failed = _without_failed(connection["nodes"], errors, resource)
        if failed and on_errors is not None:
            on_errors(failed)
        table = _table(client, resource, nodes)
        if table is not None:
            yield table
        info = connection["pageInfo"]
        if not info["hasNextPage"]:
            return
        cursor = info["endCursor"]


def read_again(
    client: ShopifyClient, resource: str, gids: Iterable[str], withheld: Iterable[str] = (),
    metafields: Iterable[str] = (),
) -> Iterator[tuple[pa.Table | None, dict[str, str], list[str]]]:
    """Read objects by id (those a sync got with errors), a few per request: per request, (the
    raw table of those now read in full, gid → error of those failing again, gids read: done
    with, whether read in full or gone from Shopify)."""
    kind, fields = _FIELDS[resource]
    fields = fields.replace(CUSTOMER_FIELDS, customer_fields(withheld, metafields))
    wanted = list(gids)
    for start in range(0, len(wanted), _AGAIN_BATCH):
        batch = wanted[start : start + _AGAIN_BATCH]
        params = ", ".join(f"$id{i}: ID!" for i in range(len(batch)))
        calls = " ".join(f"n{i}: node(id: $id{i}) {{ ... on {kind} {{ {fields} }} }}"
                         for i in range(len(batch)))
        data, errors = client.execute_partial(
            f"query again({params}) {{ {calls} }}",
            {f"id{i}": gid for i, gid in enumerate(batch)}, cost=50 * len(batch),
        )
        why = _why_by_alias(errors)
        failed = {gid: why[f"n{i}"] for i, gid in enumerate(batch) if f"n{i}" in why}
        nodes = [data[f"n{i}"] for i, gid in enumerate(batch)
                 if gid not in failed and data.get(f"n{i}")]
        done = [gid for gid in batch if gid not in failed]
        yield _table(client, resource, nodes), failed, done


def _table(client: ShopifyClient, resource: str, nodes: list[dict[str, Any]]) -> pa.Table | None:
    if resource == "orders":
        for node in nodes:
            _complete_lines(client, node)
        rows: list[dict[str, Any]] = flatten_orders(nodes)
    else:
        rows = nodes
    return pa.Table.from_pylist(rows, schema=_RAW[resource]) if rows else None


def _without_failed(
    nodes: list[dict[str, Any]], errors: list[dict[str, Any]], resource: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The page's nodes without those an error names, and gid → error code of those.

    >>> errors = [{"message": "Internal error", "path": ["orders", "nodes", 1, "customer"],
    ...            "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
    >>> _without_failed([{"id": "O1"}, {"id": "O2"}], errors, "orders")
    ([{'id': 'O1'}], {'O2': 'INTERNAL_SERVER_ERROR'})
    """
    failed: dict[str, str] = {}
    for error in errors:
        path = error.get("path") or []
        if len(path) < 3 or path[0] != resource or path[1] != "nodes" \
                or not isinstance(path[2], int) or path[2] >= len(nodes):
            raise ShopifyError("Shopify GraphQL error: {detail}", code="graphql",
                               params={"detail": str(error.get("message", error))})
        node = nodes[path[2]]
        if not node or not node.get("id"):
            raise ShopifyError("Shopify GraphQL error: {detail}", code="graphql",
                               params={"detail": str(error.get("message", error))})
        failed.setdefault(str(node["id"]), _why(error))
    return [n for n in nodes if n and n.get("id") not in failed], failed


def _why_by_alias(errors: list[dict[str, Any]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        path = error.get("path") or []
        if path:
            found.setdefault(str(path[0]), _why(error))
    return found


def _why(error: Mapping[str, Any]) -> str:
    """An error's code (what is remembered), or its message when it has none."""
    code = (error.get("extensions") or {}).get("code")
    return str(code or error.get("message") or "error")


def _complete_lines(client: ShopifyClient, order: dict[str, Any]) -> None:
    """Fetch the rest of an order's line items when the first page did not hold them all."""
    items = order.get("lineItems") or {}
    info = items.get("pageInfo") or {}
    while info.get("hasNextPage"):
        data = client.execute(_MORE_LINES, {"id": order["id"], "cursor": info["endCursor"]})
        more = data["order"]["lineItems"]
        items["nodes"] = [*items["nodes"], *more["nodes"]]
        info = more["pageInfo"]
