"""Connectors: the parts that read a store (Shopify, CSV files, the seeded demo store) into the
canonical ledger tables of :mod:`segmentry.ledger.schema`.

Reading the files a workspace names as ``[[sources]]`` (and ``segmentry import``) goes through
:func:`read_source`, which dispatches on the source's kind. Paths are relative to the workspace
folder. Readers never write: they return a :class:`~segmentry.ledger.store.LedgerBatch` for
:func:`segmentry.ledger.store.write_batch`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from segmentry.connectors import shopify_csv
from segmentry.connectors.generic import read_generic, read_parquet_folder
from segmentry.connectors.identity import email_map, known_customers
from segmentry.connectors.records import ReadResult
from segmentry.connectors.shopify import sync_store
from segmentry.core.config import SourceSettings
from segmentry.core.errors import DataImportError, Text, or_list
from segmentry.ledger.store import LedgerBatch

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["SOURCE_KINDS", "read_source", "read_source_rows"]


def read_source(source: SourceSettings, workspace: Context) -> LedgerBatch:
    """Read a configured source; any bad row raises DataImportError (nothing is imported).

    >>> import tempfile
    >>> from segmentry.app.workspace import Workspace
    >>> ws = Workspace.create(Path(tempfile.mkdtemp()) / "shop")
    >>> text = "order_id,email,processed_at,total\\n1,a@x.jp,2026-01-05,900\\n"
    >>> _ = (ws.folder / "o.csv").write_text(text)
    >>> source = SourceSettings(kind="generic", path="o.csv", rows="order")
    >>> read_source(source, ws).orders.num_rows
    1
    >>> ws.close()
    """
    return read_source_rows(source, workspace, skip_bad_rows=False).batch


def read_source_rows(
    source: SourceSettings,
    workspace: Context,
    *,
    skip_bad_rows: bool,
    spill: Path | None = None,
) -> ReadResult:
    """Read a source; with ``skip_bad_rows`` the good rows and the rejected ones come back.

    With ``spill`` (an empty folder that outlives the write) a big file's order and line rows
    are kept there rather than in memory (see :class:`~segmentry.ledger.store.SpilledTable`).
    """
    return _READERS[source.kind](source, workspace, skip_bad_rows, spill)


def _path(workspace: Context, path: str) -> Path:
    return Path(workspace.folder) / path


def _read_parquet(
    source: SourceSettings, ws: Context, skip_bad_rows: bool, spill: Path | None
) -> ReadResult:
    path = _path(ws, source.path)
    if not path.is_dir():
        raise DataImportError(
            "{path} is not a folder.",
            hint="A parquet source is a folder of <table>.parquet files in canonical columns; "
            "for a single Parquet file of orders use kind = 'generic'.",
            params={"path": str(path)},
        )
    return ReadResult(read_parquet_folder(path, shop_id=ws.settings.shop.id), [])


def _read_generic(
    source: SourceSettings, ws: Context, skip_bad_rows: bool, spill: Path | None
) -> ReadResult:
    shop = ws.settings.shop
    return read_generic(
        _path(ws, source.path),
        mapping=source.mapping,
        rows=source.rows,
        shop_id=shop.id,
        tz=shop.timezone,
        customer_ids=known_customers(ws.warehouse, shop.id),
        skip_bad_rows=skip_bad_rows,
        encoding=source.encoding,
        spill=spill,
    )


def _read_shopify(
    source: SourceSettings, ws: Context, skip_bad_rows: bool, spill: Path | None
) -> ReadResult:
    """An orders export (with its customers export, when given) or a customers export alone."""
    shop = ws.settings.shop
    path = _shopify_file(_path(ws, source.path), ("orders", "customers"))
    if shopify_csv.sniff(path) == "customers":
        return shopify_csv.read_customers_export(
            path, shop_id=shop.id, skip_bad_rows=skip_bad_rows, encoding=source.encoding
        )
    customers = None
    if source.customers_path:
        customers = shopify_csv.read_customers_export(
            _shopify_file(_path(ws, source.customers_path), ("customers",)),
            shop_id=shop.id,
            skip_bad_rows=skip_bad_rows,
            encoding=source.encoding,
        )
    known = known_customers(ws.warehouse, shop.id)
    if customers is not None:
        known.update(email_map(customers.batch.customers))  # the export read now wins
    orders = shopify_csv.read_orders_export(
        path,
        shop_id=shop.id,
        tz=shop.timezone,
        customer_ids=known,
        skip_bad_rows=skip_bad_rows,
        encoding=source.encoding,
        spill=spill,
    )
    return _merge(orders, customers)


def _shopify_file(path: Path, kinds: tuple[str, ...]) -> Path:
    """``path`` if it is one of the Shopify export kinds (by its header), else a clear error."""
    if shopify_csv.sniff(path) in kinds:
        return path
    if not path.exists():
        raise DataImportError("{path} does not exist.", params={"path": str(path)})
    wanted = or_list([_EXPORTS[kind] for kind in kinds])
    raise DataImportError(
        "{path} is not {wanted} (judging by its header row).",
        hint="Export from Shopify admin (Orders or Customers → Export → CSV), or import the "
        "file as a generic CSV with a column mapping.",
        params={"path": str(path), "wanted": wanted},
    )


_EXPORTS = {"orders": Text("a Shopify orders export"),
            "customers": Text("a Shopify customers export")}


def _merge(orders: ReadResult, customers: ReadResult | None) -> ReadResult:
    """The orders read plus the customers export read alongside it."""
    if customers is None:
        return orders
    tables = [t for t in (customers.batch.customers, orders.batch.customers) if t is not None]
    orders.batch.customers = pa.concat_tables(tables) if tables else None
    return ReadResult(orders.batch, [*customers.bad_rows, *orders.bad_rows])


def _read_shopify_api(
    source: SourceSettings, ws: Context, skip_bad_rows: bool, spill: Path | None
) -> ReadResult:
    """The connected Shopify store; its sync writes the ledger itself (see its docstring)."""
    sync_store(ws)
    return ReadResult(LedgerBatch(), [])


_READERS: dict[str, Callable[[SourceSettings, Context, bool, Path | None], ReadResult]] = {
    "shopify": _read_shopify_api,
    "shopify_csv": _read_shopify,
    "generic": _read_generic,
    "parquet": _read_parquet,
}
SOURCE_KINDS = tuple(_READERS)
"""The ``[[sources]]`` kinds segmentry reads itself (others come from plug-ins)."""
