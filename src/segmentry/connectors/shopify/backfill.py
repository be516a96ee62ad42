"""First sync: the whole history through bulk query operations, parsed as a stream.

Flow (shopify.dev, "Perform bulk operations"): ``bulkOperationRunQuery`` → poll
``currentBulkOperation`` until COMPLETED → download the JSONL at ``url`` → parse it. The file can
be gigabytes, so it is never held in memory: DuckDB's JSON reader (streaming, with the raw
schema of :mod:`~segmentry.connectors.shopify.mapping`) reads it, and every block of rows becomes
a ledger batch.

Line items are rows with ``__parentId``. Up to API version 2025-10 Shopify put them right after
their order; from 2026-01 it does not group them by default (and we ask for
``groupObjects: false`` wherever the argument exists, as it is faster and fails less: see
:mod:`~segmentry.connectors.shopify.versions`), so a line item may come anywhere in the file,
before its order or long after it. So an order and its line items are brought together on
disk: one streaming pass puts every row in a bucket file chosen by a hash of its order's id (the
order's own ``id``, a line item's ``__parentId``), then each bucket is read back whole — an order
and all its line items in the same batch, one bucket in memory at a time.

Polling has a deadline (``[shopify] bulk_deadline_hours``). A FAILED operation is reported with
Shopify's ``errorCode``; when it still produced part of its data (``partialDataUrl``) that part is
downloaded and returned marked partial, for the sync to keep it and record the failure.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    checkouts_batch,
    customer_fields,
    customers_batch,
    high_water,
    orders_batch,
    products_batch,
)
from segmentry.connectors.shopify.store_credit import RAW_ACCOUNTS, accounts_batch
from segmentry.connectors.shopify.store_credit import bulk_query as _accounts_query
from segmentry.connectors.shopify.versions import has_group_objects
from segmentry.core.errors import ShopifyError, Text
from segmentry.ledger.store import LedgerBatch

__all__ = [
    "BULK_QUERIES",
    "DEADLINE_HOURS",
    "BulkResult",
    "Resource",
    "bulk_query",
    "read_jsonl",
    "run_bulk_query",
    "wait_for_bulk",
]

Resource = str  # "products", "customers", "orders", "abandonedCheckouts", "storeCreditAccounts"

BULK_QUERIES: dict[Resource, str] = {
    "products": f"{{ products{{filter}} {{ edges {{ node {{ {PRODUCT_FIELDS} }} }} }} }}",
    "customers": f"{{ customers{{filter}} {{ edges {{ node {{ {CUSTOMER_FIELDS} }} }} }} }}",
    "orders": (
        f"{{ orders{{filter}} {{ edges {{ node {{ {ORDER_FIELDS} "
        f"lineItems {{ edges {{ node {{ {LINE_FIELDS} }} }} }} }} }} }} }}"
    ),
    "abandonedCheckouts": (
        f"{{ abandonedCheckouts{{filter}} {{ edges {{ node {{ {CHECKOUT_FIELDS} }} }} }} }}"
    ),
    # Customers' store credit accounts: account lines carry their customer as ``__parentId``
    # (see segmentry.connectors.shopify.store_credit).
    "storeCreditAccounts": _accounts_query(),
}
_RAW = {"products": RAW_PRODUCTS, "customers": RAW_CUSTOMERS, "orders": RAW_ORDERS,
        "abandonedCheckouts": RAW_CHECKOUTS, "storeCreditAccounts": RAW_ACCOUNTS}
_RUN = """mutation run($query: String!) {
  bulkOperationRunQuery(query: $query{group}) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}"""
_POLL = """{ currentBulkOperation(type: QUERY) {
  id status errorCode objectCount rootObjectCount fileSize url partialDataUrl } }"""
_ERROR_CODES = {
    "ACCESS_DENIED": Text(
        "the query needs an access scope, or protected customer data, the app is not allowed"
    ),
    "INTERNAL_SERVER_ERROR": Text("an internal error on Shopify's side, which may not recur"),
    "TIMEOUT": Text("the query timed out on Shopify's side"),
}
DEADLINE_HOURS = 12.0


@dataclass(frozen=True)
class BulkResult:
    """A finished bulk query: its JSONL (None: no rows) and whether it is only the part a
    FAILED operation produced (``partial``; ``operation`` says why)."""

    path: Path | None
    operation: dict[str, Any]
    partial: bool = False

    def failure(self, rows: int) -> ShopifyError:
        """The error to record after keeping the ``rows`` of a partial result."""
        return ShopifyError(
            "Shopify's bulk operation {operation} failed ({reason}) after {objects} objects; "
            "the {rows} rows it delivered were kept, and the next sync reads the same changes "
            "again.",
            code="bulk_failed",
            params={"operation": self.operation.get("id"), "rows": rows,
                    "objects": self.operation.get("objectCount") or 0,
                    "reason": _reason(self.operation)},
            hint="Run the sync again; it starts a new bulk operation.",
        )


def bulk_query(
    resource: Resource, search: str | None = None, withheld: Iterable[str] = (),
    metafields: Iterable[str] = (),
) -> str:
    """The bulk query text for a resource, optionally filtered by a search query; customers
    without the protected data in ``withheld`` (a bulk query asking for data the app is not
    approved for fails with ``ACCESS_DENIED``), with the ``metafields`` (``namespace.key``).

    >>> bulk_query("products").startswith("{ products { edges")
    True
    >>> "defaultEmailAddress" in bulk_query("customers", withheld={"email"})
    False
    """
    fields = customer_fields(withheld, metafields)
    template = BULK_QUERIES[resource].replace(CUSTOMER_FIELDS, fields)
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
    deadline_hours: float = DEADLINE_HOURS,
) -> BulkResult:
    """Run a bulk query, wait for it, download its JSONL (or the part a FAILED operation
    delivered) into ``folder``."""
    group = ", groupObjects: false" if has_group_objects(client.api_version) else ""
    payload = client.execute(_RUN.replace("{group}", group), {"query": query})
    payload = payload["bulkOperationRunQuery"]
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
        deadline_hours=deadline_hours,
        keep_partial=True,
    )
    partial = operation["status"] != "COMPLETED"
    url = operation.get("partialDataUrl") if partial else operation.get("url")
    if not url:
        return BulkResult(None, operation, partial)
    target = Path(tempfile.mkstemp(suffix=".jsonl", dir=folder)[1])
    return BulkResult(client.download(url, target), operation, partial)


def wait_for_bulk(
    client: ShopifyClient,
    wanted: str,
    kind: str,
    *,
    poll_seconds: float = 0.1,
    max_poll_seconds: float = 15.0,
    deadline_hours: float = DEADLINE_HOURS,
    keep_partial: bool = False,
) -> dict[str, Any]:
    """Poll ``currentBulkOperation(type: kind)`` until operation ``wanted`` completes (or, with
    ``keep_partial``, fails having delivered partial data); raise when it fails, is canceled
    or expires, or is still running after ``deadline_hours``."""
    wait, deadline = poll_seconds, client.clock() + deadline_hours * 3600
    while True:
        operation = client.execute(_POLL.replace("QUERY", kind))["currentBulkOperation"] or {}
        status = operation.get("status")
        mine = operation.get("id") == wanted
        if mine and status == "COMPLETED":
            return operation
        if mine and status == "FAILED" and keep_partial and operation.get("partialDataUrl"):
            return operation
        if mine and status in ("FAILED", "CANCELED", "EXPIRED"):
            raise ShopifyError(
                "Shopify's bulk operation {operation} ended {status} ({reason}).",
                code="bulk_failed",
                params={"operation": wanted, "status": status, "reason": _reason(operation)},
                hint="Run the sync again; it starts a new bulk operation.",
            )
        if client.clock() >= deadline:
            raise ShopifyError(
                "Shopify's bulk operation {operation} is still {status} after {hours} hours "
                "({objects} objects so far).",
                code="bulk_timeout",
                params={"operation": wanted, "status": status if mine else Text("not found"),
                        "hours": deadline_hours, "objects": operation.get("objectCount") or 0},
                hint="It may still finish on Shopify's side; raise [shopify] "
                "bulk_deadline_hours for a very large store, or run the sync again later.",
            )
        client.policy.sleep(min(wait, max(0.0, deadline - client.clock())))
        wait = min(max_poll_seconds, wait * 1.5)


def _reason(operation: dict[str, Any]) -> str | Text:
    """Shopify's ``errorCode`` with what it means."""
    code = operation.get("errorCode")
    if not code:
        return Text("no error code")
    meaning = _ERROR_CODES.get(code)
    return Text("{code}: {meaning}", {"code": code, "meaning": meaning}) if meaning else code


def read_jsonl(
    path: Path, resource: Resource, shop_id: str, *, block_rows: int = 100_000
) -> Iterator[tuple[LedgerBatch, str | None]]:
    """(ledger batch, newest updatedAt in it) per block of a bulk result file.

    An order's line items always land in the same batch as the order, wherever they are in
    the file (lines whose order is not in the file at all — a partial result — are left out).
    """
    to_ledger: Callable[[pa.Table, str], LedgerBatch] = {
        "products": products_batch,
        "customers": customers_batch,
        "orders": orders_batch,
        "abandonedCheckouts": checkouts_batch,
        "storeCreditAccounts": accounts_batch,
    }[resource]
    reader = _by_parent if resource == "orders" else _chunks
    for raw in reader(path, _RAW[resource], block_rows):
        yield to_ledger(raw, shop_id), high_water(raw)


def _connect() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for reading a bulk file (no progress bar on stdout)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _read_json(path: Path, schema: pa.Schema) -> tuple[str, list[Any]]:
    columns = {f.name: _duckdb_type(f.type) for f in schema}
    return (
        "read_json(?, format = 'newline_delimited', columns = ?, maximum_object_size = 67108864)",
        [str(path), columns],
    )


def _chunks(path: Path, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """The file's rows in order, ``rows`` at a time, parsed by DuckDB's JSON reader.

    NOTE: DuckDB's reader (all cores, streaming, input order kept) is about 1.6× cheaper than
    Arrow's here, and Arrow's streaming reader reads ahead without bound when its consumer is
    slower than the parse, so a multi-gigabyte file would end up in memory.
    """
    source, parameters = _read_json(path, schema)
    con = _connect()
    try:
        con.execute("SET preserve_insertion_order = true")
        result = con.execute(f"SELECT * FROM {source}", parameters)
        for batch in result.to_arrow_reader(rows):
            yield pa.Table.from_batches([batch]).cast(schema)
    except duckdb.Error as e:
        raise _unreadable(path, e) from e
    finally:
        con.close()


def _by_parent(path: Path, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """Tables of about ``rows`` lines, each holding whole orders: every order with all of its
    line items, wherever they were in the file.

    One streaming pass puts each row in a bucket chosen by a hash of its order's id (its own
    ``id`` for an order, ``__parentId`` for a line item), appended to that bucket's Arrow file
    on disk; then each bucket is read back whole. So an order meets its line items without a
    sort and without holding more than one bucket in memory.
    """
    buckets = _bucket_count(path, rows)
    source, parameters = _read_json(path, schema)
    with tempfile.TemporaryDirectory(dir=path.parent, prefix="staging-") as folder:
        files = [Path(folder) / f"{n}.arrow" for n in range(buckets)]
        _spill_buckets(path, source, parameters, schema, files)
        for file in files:
            if file.exists():
                with pa.memory_map(str(file)) as source_file:
                    table = pa.ipc.open_stream(source_file).read_all()
                file.unlink()
                yield _whole_orders(table)


def _bucket_count(path: Path, rows: int) -> int:
    """Buckets of about ``rows`` lines, judged by the file's size (a bulk line is some
    hundreds of bytes); at most :data:`_MAX_BUCKETS` files open at once."""
    return max(1, min(_MAX_BUCKETS, path.stat().st_size // (rows * _LINE_BYTES) + 1))


_LINE_BYTES = 400
_MAX_BUCKETS = 256


def _spill_buckets(
    path: Path, source: str, parameters: list[Any], schema: pa.Schema, files: list[Path]
) -> None:
    """Stream the file once, appending each row to the Arrow file of its order's bucket."""
    con = _connect()
    writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}
    try:
        con.execute("SET preserve_insertion_order = false")  # buckets need no file order
        result = con.execute(
            f'SELECT *, hash(coalesce("__parentId", id)) % {len(files)} AS __bucket '
            f"FROM {source}",
            parameters,
        )
        for batch in result.to_arrow_reader(_SPILL_ROWS):
            table = pa.Table.from_batches([batch])
            table = table.take(pc.sort_indices(table["__bucket"]))
            for bucket, part in _runs(table):
                writer = writers.get(bucket)
                if writer is None:
                    writer = writers[bucket] = pa.ipc.new_stream(str(files[bucket]), schema)
                writer.write_table(part.drop_columns(["__bucket"]).cast(schema))
    except duckdb.Error as e:
        raise _unreadable(path, e) from e
    finally:
        for writer in writers.values():
            writer.close()
        con.close()


_SPILL_ROWS = 65_536


def _runs(table: pa.Table) -> Iterator[tuple[int, pa.Table]]:
    """(bucket, rows) for each run of one bucket in a table sorted by ``__bucket``.

    >>> table = pa.table({"__bucket": pa.array([0, 0, 1, 2, 2], pa.uint64())})
    >>> [(bucket, part.num_rows) for bucket, part in _runs(table)]
    [(0, 2), (1, 1), (2, 2)]
    """
    buckets = table["__bucket"].to_numpy()
    starts = [0, *(np.flatnonzero(np.diff(buckets)) + 1).tolist(), len(buckets)]
    for start, end in itertools.pairwise(starts):
        if end > start:
            yield int(buckets[start]), table.slice(start, end - start)


def _whole_orders(table: pa.Table) -> pa.Table:
    """The bucket without line items whose order is not in it (not in the file at all: a
    partial result)."""
    parents = table["__parentId"]
    orders = table.filter(pc.is_null(parents))["id"]
    known = pc.or_(pc.is_null(parents), pc.is_in(parents, value_set=orders.combine_chunks()))
    return table if pc.all(known).as_py() else table.filter(known)


def _unreadable(path: Path, e: duckdb.Error) -> ShopifyError:
    return ShopifyError("Cannot read the bulk result {file}: {problem}", code="bulk_failed",
                        hint="Run the sync again; it downloads a fresh result.",
                        params={"file": path.name, "problem": str(e)})


def _duckdb_type(arrow: pa.DataType) -> str:
    """DuckDB's spelling of a raw-schema type.

    >>> _duckdb_type(pa.struct([("amount", pa.string())]))
    'STRUCT("amount" VARCHAR)'
    """
    if pa.types.is_struct(arrow):
        return "STRUCT(" + ", ".join(f'"{f.name}" {_duckdb_type(f.type)}' for f in arrow) + ")"
    if pa.types.is_list(arrow):
        return f"{_duckdb_type(arrow.value_type)}[]"
    return {pa.string(): "VARCHAR", pa.int64(): "BIGINT", pa.bool_(): "BOOLEAN",
            pa.float64(): "DOUBLE"}[arrow]
