"""First sync: the whole history through bulk query operations, parsed as a stream.

Flow (shopify.dev, "Perform bulk operations"): ``bulkOperationRunQuery`` → poll
``currentBulkOperation`` until COMPLETED → download the JSONL at ``url`` → parse it. The file can
be gigabytes, so it is read in blocks (DuckDB's JSON reader, streaming, with the raw schema of
:mod:`~segmentry.connectors.shopify.mapping`) and every block becomes a ledger batch: never the
whole file in memory. Line items are rows with ``__parentId``; a block ends at its last order,
whose line items may continue in the next block, so that order is carried over.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.mapping import (
    CUSTOMER_FIELDS,
    LINE_FIELDS,
    ORDER_FIELDS,
    PRODUCT_FIELDS,
    RAW_CUSTOMERS,
    RAW_ORDERS,
    RAW_PRODUCTS,
    customers_batch,
    high_water,
    orders_batch,
    products_batch,
)
from segmentry.core.errors import ShopifyError, Text
from segmentry.ledger.store import LedgerBatch

__all__ = [
    "BULK_QUERIES",
    "Resource",
    "bulk_query",
    "read_jsonl",
    "run_bulk_query",
    "wait_for_bulk",
]

Resource = str  # "products", "customers" or "orders"

BULK_QUERIES: dict[Resource, str] = {
    "products": f"{{ products{{filter}} {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}",
    "customers": f"{{ customers{{filter}} {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }} }}",
    "orders": (
        f"{{ orders{{filter}} {{ edges {{ node {{ {ORDER_FIELDS} "
        f"lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }} }} }} }} }}"
    ),
}
_RAW = {"products": RAW_PRODUCTS, "customers": RAW_CUSTOMERS, "orders": RAW_ORDERS}
_RUN = """mutation run($query: String!) {
  bulkOperationRunQuery(query: $query) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
_POLL = """{ currentBulkOperation(type: QUERY) {
  id status errorCode objectCount rootObjectCount fileSize url partialDataUrl } }"""


def bulk_query(resource: Resource, search: str | None = None) -> str:
    """The bulk query text for a resource, optionally filtered by a search query.

    >>> bulk_query("products").startswith("{ products { edges")
    True
    """
    template = BULK_QUERIES[resource]
    argument = "" if search is None else f"(query: {_quoted(search)})"
    return template.replace("{filter}", argument)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_bulk_query(
    client: ShopifyClient,
    query: str,
    folder: Path,
    *,
    poll_seconds: float = 0.1,
    max_poll_seconds: float = 15.0,
) -> Path | None:
    """Run a bulk query, wait for it, download its JSONL into ``folder`` (None: no rows)."""
    payload = client.execute(_RUN, {"query": query})["bulkOperationRunQuery"]
    if payload["userErrors"]:
        error = payload["userErrors"][0]
        busy = error.get("code") == "OPERATION_IN_PROGRESS"
        raise ShopifyError(
            "Shopify refused the bulk query: {detail}",
            code="bulk_failed",
            params={"detail": error["message"]},
            hint="Another bulk query may be running for this app; wait for it and retry."
            if busy else None,
        )
    operation = wait_for_bulk(
        client,
        payload["bulkOperation"]["id"],
        "QUERY",
        poll_seconds=poll_seconds,
        max_poll_seconds=max_poll_seconds,
    )
    if not operation.get("url"):
        return None
    target = Path(tempfile.mkstemp(suffix=".jsonl", dir=folder)[1])
    return client.download(operation["url"], target)


def wait_for_bulk(
    client: ShopifyClient,
    wanted: str,
    kind: str,
    *,
    poll_seconds: float = 0.1,
    max_poll_seconds: float = 15.0,
) -> dict[str, Any]:
    """Poll ``currentBulkOperation(type: kind)`` until operation ``wanted`` completes."""
    wait = poll_seconds
    while True:
        operation = client.execute(_POLL.replace("QUERY", kind))["currentBulkOperation"] or {}
        status = operation.get("status")
        if operation.get("id") == wanted and status == "COMPLETED":
            return operation
        if operation.get("id") == wanted and status in ("FAILED", "CANCELED", "EXPIRED"):
            raise ShopifyError(
                "Shopify's bulk operation {operation} ended {status} ({reason}).",
                code="bulk_failed",
                params={"operation": wanted, "status": status,
                        "reason": operation.get("errorCode") or Text("no error code")},
                hint="Run the sync again; it starts a new bulk operation.",
            )
        client.policy.sleep(wait)
        wait = min(max_poll_seconds, wait * 1.5)


def read_jsonl(
    path: Path, resource: Resource, shop_id: str, *, block_rows: int = 100_000
) -> Iterator[tuple[LedgerBatch, str | None]]:
    """(ledger batch, newest updatedAt in it) per block of a bulk result file.

    An order's line items always land in the same batch as the order.
    """
    to_ledger: Callable[[pa.Table, str], LedgerBatch] = {
        "products": products_batch,
        "customers": customers_batch,
        "orders": orders_batch,
    }[resource]
    for raw in _blocks(path, _RAW[resource], block_rows, resource == "orders"):
        yield to_ledger(raw, shop_id), high_water(raw)


def _blocks(path: Path, schema: pa.Schema, rows: int, nested: bool) -> Iterator[pa.Table]:
    """Tables of ``rows`` lines; with ``nested``, each ends before its last order, which is
    carried (with its line items) into the next table."""
    carry: pa.Table | None = None
    for table in _chunks(path, schema, rows):
        if not nested:
            yield table
            continue
        if carry is not None:
            table = pa.concat_tables([carry, table])
        roots = pc.indices_nonzero(pc.is_null(table["__parentId"]))
        if len(roots) == 0:  # every row is a child of the order carried over
            carry = table
            continue
        last = roots[-1].as_py()
        carry = table.slice(last)
        if last:
            yield table.slice(0, last)
    if carry is not None and carry.num_rows:
        yield carry


def _chunks(path: Path, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """The file's rows in order, ``rows`` at a time, parsed by DuckDB's JSON reader.

    NOTE: DuckDB's reader (all cores, streaming, input order kept) is about 1.6× cheaper than
    Arrow's here, and Arrow's streaming reader reads ahead without bound when its consumer is
    slower than the parse, so a multi-gigabyte file would end up in memory.
    """
    columns = {f.name: _duckdb_type(f.type) for f in schema}
    con = duckdb.connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        result = con.execute(
            "SELECT * FROM read_json(?, format = 'newline_delimited', columns = ?, "
            "maximum_object_size = 67108864)",
            [str(path), columns],
        )
        for batch in result.to_arrow_reader(rows):
            yield pa.Table.from_batches([batch]).cast(schema)
    except duckdb.Error as e:
        raise ShopifyError("Cannot read the bulk result {file}: {problem}", code="bulk_failed",
                           hint="Run the sync again; it downloads a fresh result.",
                           params={"file": path.name, "problem": str(e)}) from e
    finally:
        con.close()


def _duckdb_type(arrow: pa.DataType) -> str:
    """DuckDB's spelling of a raw-schema type.

    >>> _duckdb_type(pa.struct([("amount", pa.string())]))
    'STRUCT("amount" VARCHAR)'
    """
    if pa.types.is_struct(arrow):
        return "STRUCT(" + ", ".join(f'"{f.name}" {_duckdb_type(f.type)}' for f in arrow) + ")"
    if pa.types.is_list(arrow):
        return f"{_duckdb_type(arrow.value_type)}[]"
    return {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN"}[arrow]
