"""Writing the canonical ledger: conform incoming Arrow tables, derive local dates, upsert.

Every connector returns a :class:`LedgerBatch` of Arrow tables in canonical columns (see
:mod:`segmentry.ledger.schema`); :func:`write_batch` is the only writer. A batch is written in
ONE warehouse transaction: a failure leaves the ledger exactly as it was.

Upsert rules (re-importing the same file changes nothing):

- rows replace the stored rows with the same key (``schema.KEYS``);
- **the newest update wins** for customers and orders (``schema.NEWEST_WINS``): an incoming row
  whose ``updated_at`` is older than the stored row's is ignored (with its order lines), so an
  ``orders/updated`` webhook delivered late never undoes the ``orders/cancelled`` that Shopify
  sent after it; equal or newer replaces; a row without ``updated_at`` (incoming or stored)
  replaces as before, since nothing says it is older (CSV exports, the demo store);
- a customer deleted in the source (``deleted_customers``, written by :func:`remember_deletion`
  when Shopify says ``customers/delete``) is not brought back by a row whose ``updated_at`` is
  not after the deletion, nor by one without ``updated_at``;
- an order's lines are replaced as a whole when the order arrives again with lines;
- an order whose customer is unknown gets a stub customer (created at its first order);
- customers whose tags differ from the last recorded tag state get a ``customer_tag_history``
  row (seen at the customer's ``updated_at``), unless the batch brings its own tag history;
- a ``customer_statistics_history`` row equal to the customer's latest one is not stored
  (the history holds the observations that changed something);
- every customer whose orders or order lines change (the new rows' customers and the replaced
  rows' ones) is queued in ``stale_customers``, so that
  :func:`segmentry.analytics.facts.build_facts`
  rebuilds only their facts; a row with no customer queues everyone (the first load of orders
  or lines).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeAlias

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from ibis.backends import BaseBackend

from segmentry.core.errors import DataImportError, EngineError
from segmentry.engine import Scratch, add_missing_columns, delete_listed, execute, transaction
from segmentry.engine.engines import engine_of
from segmentry.ledger.schema import KEYS, LOCAL_DATES, NEWEST_WINS, TABLES

__all__ = [
    "CHUNK_ROWS",
    "DELETED_CUSTOMERS",
    "IMPORT_MEMORY_LIMIT",
    "STALE_CUSTOMERS",
    "LedgerBatch",
    "SpilledTable",
    "TableRows",
    "add_local_dates",
    "append",
    "arrow_schema",
    "chunks_of",
    "conform",
    "ensure_ledger",
    "import_memory",
    "import_parquet_folder",
    "queue_everyone",
    "remember_deletion",
    "write_batch",
]

# Customers whose order facts are out of date (with ``order_id`` when an order's lines were
# replaced); a NULL customer_id means everyone.
STALE_CUSTOMERS = "stale_customers"
_STALE_SCHEMA = ibis.schema({"shop_id": "string", "customer_id": "string", "order_id": "string"})

# Customers the source deleted, and when: a row not newer than the deletion stays out.
DELETED_CUSTOMERS = "deleted_customers"
_DELETED_SCHEMA = ibis.schema(
    {"shop_id": "string", "customer_id": "string", "deleted_at": "timestamp"}
)

# Tables in the order they are written: customers before the orders that name them.
_WRITE_ORDER = ("products", "customers", "orders", "order_lines", "customer_tag_history",
                "customer_events", "refunds", "line_events", "abandoned_checkouts",
                "customer_statistics_history", "store_credit_accounts",
                "store_credit_transactions")


@dataclass(frozen=True)
class SpilledTable:
    """Rows of one ledger table kept in a Parquet file instead of memory (a big file being
    imported, see :mod:`segmentry.connectors.records`); :func:`write_batch` reads them back a
    chunk at a time, so a file of any size is written in bounded memory. With ``local_dates``
    the file holds the table's every column (local dates included), so DuckDB loads it as it is.
    """

    path: Path
    num_rows: int
    local_dates: bool = False

    def chunks(self) -> Iterator[pa.Table]:
        """The rows, at most :data:`CHUNK_ROWS` at a time."""
        parquet = pq.ParquetFile(self.path)
        try:
            for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
                yield pa.Table.from_batches([batch])
        finally:
            parquet.close()


# Rows per chunk when a big table is read, converted or written piecewise.
CHUNK_ROWS = 10_000

# A ledger table as a reader hands it over: in memory, or spilled to disk.
TableRows: TypeAlias = pa.Table | SpilledTable


def chunks_of(data: TableRows) -> Iterator[pa.Table]:
    """A table's rows as Arrow tables of bounded size (an in-memory table is one chunk)."""
    if isinstance(data, SpilledTable):
        yield from data.chunks()
    else:
        yield data


@dataclass
class LedgerBatch:
    """Canonical tables from one source read; any may be missing."""

    customers: pa.Table | None = None
    orders: TableRows | None = None
    order_lines: TableRows | None = None
    products: pa.Table | None = None
    customer_tag_history: pa.Table | None = None
    customer_events: pa.Table | None = None
    refunds: pa.Table | None = None
    line_events: pa.Table | None = None
    abandoned_checkouts: pa.Table | None = None
    customer_statistics_history: pa.Table | None = None
    store_credit_accounts: pa.Table | None = None
    store_credit_transactions: pa.Table | None = None

    def tables(self) -> Iterator[tuple[str, TableRows]]:
        """(name, table) for every table present, in write order."""
        present = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _WRITE_ORDER:
            if present[name] is not None:
                yield name, present[name]


def arrow_schema(table: str, *, local_dates: bool = True) -> pa.Schema:
    """The Arrow schema of a ledger table (optionally without its derived local dates)."""
    schema: pa.Schema = TABLES[table].to_pyarrow()
    if local_dates:
        return schema
    derived = {local for _, local in LOCAL_DATES.get(table, ())}
    return pa.schema([f for f in schema if f.name not in derived])


def conform(table: str, data: pa.Table) -> pa.Table:
    """``data`` with exactly the canonical columns of ``table`` (minus local dates), in order.

    Missing columns become nulls; present ones are cast to the canonical type.

    >>> conform("products", pa.table({"product_id": ["1"]})).column_names[:3]
    ['shop_id', 'product_id', 'title']
    """
    target = arrow_schema(table, local_dates=False)
    unknown = [c for c in data.column_names if c not in target.names]
    derived = {local for _, local in LOCAL_DATES.get(table, ())}
    unknown = [c for c in unknown if c not in derived]
    if unknown:
        raise DataImportError(
            f"Unknown column(s) for the {table} table: {', '.join(unknown)}.",
            hint=f"Known columns: {', '.join(target.names)}.",
        )
    columns = []
    for field in target:
        if field.name in data.column_names:
            column = _cast(table, field, data.column(field.name))
        else:
            column = pa.nulls(data.num_rows, field.type)
        if pa.types.is_list(field.type):  # lists are never NULL: no tags is an empty list
            column = pc.fill_null(column, pa.scalar([], field.type))
        columns.append(column)
    return pa.Table.from_arrays(columns, schema=target)


def _cast(table: str, field: pa.Field, column: pa.ChunkedArray) -> pa.ChunkedArray:
    try:
        if pa.types.is_decimal(field.type) and pa.types.is_integer(column.type):
            column = pc.cast(column, pa.decimal128(38, field.type.scale))  # int64 needs 19 digits
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            column = pc.cast(column, pa.timestamp(column.type.unit, "UTC"))
            column = pc.local_timestamp(column)  # UTC wall time, zone dropped
        return pc.cast(column, field.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
        raise DataImportError(
            f"Column {field.name!r} of the {table} table cannot hold these values: {e}"
        ) from e


def add_local_dates(table: str, data: pa.Table, tz: str) -> pa.Table:
    """Append the shop-local date of every UTC timestamp column (``processed_on`` …).

    >>> import datetime as dt
    >>> t = pa.table({"seen_at": pa.array([dt.datetime(2024, 1, 31, 15, 30)], pa.timestamp("us"))})
    >>> add_local_dates("customer_tag_history", t, "Asia/Tokyo").column("seen_on").to_pylist()
    [datetime.date(2024, 2, 1)]
    """
    for stamp, local in LOCAL_DATES.get(table, ()):
        utc = pc.assume_timezone(data.column(stamp), "UTC")
        wall = pc.local_timestamp(pc.cast(utc, pa.timestamp("us", tz)))
        data = data.append_column(local, pc.cast(wall, pa.date32()))
    return data


def ensure_ledger(con: BaseBackend) -> None:
    """Create every ledger table that does not exist yet (empty, canonical schema), and add
    the columns a ledger made by an earlier segmentry lacks (``orders.updated_at``)."""
    existing = set(con.list_tables())
    side = {STALE_CUSTOMERS: _STALE_SCHEMA, DELETED_CUSTOMERS: _DELETED_SCHEMA}
    for name, schema in {**TABLES, **side}.items():
        if name not in existing:
            con.create_table(name, schema=schema)
        elif name in TABLES:
            add_missing_columns(con, name, schema)


def remember_deletion(con: BaseBackend, shop_id: str, customer_id: str, at: dt.datetime) -> None:
    """Remember that the source deleted a customer at ``at`` (UTC): rows for them not newer
    than that are ignored from now on (see the module docstring)."""
    ensure_ledger(con)
    con.insert(
        DELETED_CUSTOMERS,
        pa.table(
            {
                "shop_id": pa.array([shop_id], pa.string()),
                "customer_id": pa.array([customer_id], pa.string()),
                "deleted_at": pa.array([at], pa.timestamp("us")),
            }
        ),
    )


def write_batch(con: BaseBackend, batch: LedgerBatch, *, tz: str) -> dict[str, int]:
    """Upsert a batch atomically; returns rows written per table (``<table>_updated`` too)."""
    ensure_ledger(con)
    stats: dict[str, int] = {}
    scratch = Scratch(con)  # the staged rows, dropped at the end whatever happens
    try:
        with transaction(con):
            derive_tags = batch.customer_tag_history is None and batch.customers is not None
            written: dict[str, str] = {}  # table → where this batch's rows can be read
            skipped: dict[str, str] = {}  # table → the keys of its rows ignored as older
            for name, data in batch.tables():
                ready = _ready(name, data, tz)
                first = not (derive_tags and name == "customers") and not (
                    name == "order_lines" and "orders" in skipped
                )  # lines of ignored orders
                if first and _is_empty(con, name):
                    if name == "orders":
                        queue_everyone(con)
                    _load(con, name, data, tz)  # first load: nothing to replace, no staging copy
                    stats[f"{name}_updated"], written[name] = 0, name
                else:
                    stage = _stage_chunks(scratch, name, ready)
                    if name in NEWEST_WINS:
                        older = _drop_older(scratch, name, stage)
                        if older is not None:
                            stats[f"{name}_ignored"], skipped[name] = older
                    if name == "order_lines" and "orders" in skipped:
                        execute(
                            con, delete_listed(stage, skipped["orders"], ("shop_id", "order_id"))
                        )
                    if name == "orders":
                        _queue_customers_of(con, stage)
                    if name == "customer_statistics_history":
                        _drop_unchanged_statistics(scratch, stage)
                    stats[f"{name}_updated"], written[name] = _replace(con, name, stage), stage
                stats[name] = data.num_rows
            if derive_tags:
                stats["customer_tag_history"] = _record_tag_changes(con, scratch, tz)
            if "orders" in written:
                stats["customers_stubbed"] = _stub_customers(con, written["orders"])
            if written.get("order_lines") == "order_lines":  # the first lines: all facts
                queue_everyone(con)
            elif "order_lines" in written:
                _queue_customers_of_lines(con, written["order_lines"])
    except DataImportError:
        raise
    except Exception as e:
        raise EngineError(f"Writing to the ledger failed; nothing was changed: {e}") from e
    finally:
        scratch.close()
    return stats


def _ready(table: str, data: TableRows, tz: str) -> Iterator[pa.Table]:
    """A table's rows in canonical columns with local dates, a chunk at a time."""
    return (add_local_dates(table, conform(table, c), tz) for c in chunks_of(data))


def _load(con: BaseBackend, table: str, data: TableRows, tz: str) -> None:
    """Append a table's rows; a complete spilled file straight from disk where the engine can."""
    loaded = isinstance(data, SpilledTable) and data.local_dates and engine_of(con).load_parquet(
        con, table, data.path)
    if not loaded:
        append(con, table, _ready(table, data, tz))


# What DuckDB may hold in memory while a file is imported (the write and the facts build),
# whatever ``warehouse.memory_limit`` says: past it, it spills to disk. Keeps the import of a
# 1 GB export under 1 GiB of RSS (docs/performance.md).
IMPORT_MEMORY_LIMIT = "400MB"


def import_memory(
    con: BaseBackend, workspace_limit: str
) -> contextlib.AbstractContextManager[None]:
    """Run an import with the engine's memory at :data:`IMPORT_MEMORY_LIMIT` (DuckDB); the
    workspace's own limit (``warehouse.memory_limit``) is set again afterwards."""
    return engine_of(con).memory_limited(con, IMPORT_MEMORY_LIMIT, workspace_limit or None)


def queue_everyone(con: BaseBackend) -> None:
    """Mark every customer's order facts out of date (the next facts build rebuilds all)."""
    ensure_ledger(con)
    nobody = pa.array([None], pa.string())
    con.insert(
        STALE_CUSTOMERS, pa.table({"shop_id": nobody, "customer_id": nobody, "order_id": nobody})
    )


def _queue_customers_of(con: BaseBackend, stage: str) -> None:
    """Queue the customers of staged orders and of the stored orders they replace."""
    new, stored = con.table(stage), con.table("orders")
    replaced = stored.semi_join(new, list(KEYS["orders"]))
    affected = ibis.union(
        new.select("shop_id", "customer_id"), replaced.select("shop_id", "customer_id")
    )
    affected = affected.filter(affected.customer_id.notnull()).distinct()
    con.insert(STALE_CUSTOMERS, affected.mutate(order_id=ibis.null().cast("string")))


def _queue_customers_of_lines(con: BaseBackend, stage: str) -> None:
    """Queue the orders whose lines were staged, with their customers."""
    orders = con.table("orders").semi_join(con.table(stage), ["shop_id", "order_id"])
    relined = orders.filter(orders.customer_id.notnull())
    con.insert(STALE_CUSTOMERS, relined.select("shop_id", "customer_id", "order_id").distinct())


def _drop_older(scratch: Scratch, table: str, stage: str) -> tuple[int, str] | None:
    """Remove the staged rows that must not replace what is stored: older than the stored row
    (both with ``updated_at``), or a customer deleted since (see the module docstring).
    Returns (how many, the temporary table of their keys), or None when none."""
    con = scratch.con
    new, stored, keys = con.table(stage), con.table(table), list(KEYS[table])
    same = [new[k] == stored[k] for k in keys]
    ignored = new.semi_join(stored, [*same, stored.updated_at > new.updated_at])
    if table == "customers":
        deleted = con.table(DELETED_CUSTOMERS)
        gone = [new[k] == deleted[k] for k in keys]
        not_newer = new.updated_at.isnull() | (new.updated_at <= deleted.deleted_at)
        ignored = ignored.union(new.semi_join(deleted, [*gone, not_newer]))
    ignored = ignored.select(*keys).distinct()
    count = int(con.to_pyarrow(ignored.count()).as_py())
    if not count:
        return None
    name = scratch.keep(con.to_pyarrow(ignored), prefix=f"_ignored_{table}")
    execute(con, delete_listed(stage, name, keys))
    return count, name


def _is_empty(con: BaseBackend, table: str) -> bool:
    return int(con.to_pyarrow(con.table(table).count()).as_py()) == 0


def _stage(scratch: Scratch, table: str, data: pa.Table) -> str:
    # Staged rows live in a temporary table: never written to the warehouse file.
    return scratch.keep(data, prefix=f"_staged_{table}")


def _stage_chunks(scratch: Scratch, table: str, chunks: Iterator[pa.Table]) -> str:
    """Stage a table's rows given a chunk at a time (the first chunk creates the stage)."""
    name = _stage(scratch, table, next(chunks))
    append(scratch.con, name, chunks)
    return name


def append(con: BaseBackend, table: str, chunks: Iterator[pa.Table]) -> None:
    """Insert rows given a chunk at a time (chunks of one schema, a table's columns), as the
    engine does it best (DuckDB: one streamed ``INSERT``, bounded memory; see
    :meth:`segmentry.engine.engines.DuckDB.append`)."""
    engine_of(con).append(con, table, chunks)


def _replace(con: BaseBackend, table: str, stage: str) -> int:
    """Delete stored rows that the staged rows replace, insert the staged rows.

    Returns how many staged keys already existed (updates rather than inserts).
    """
    keys = KEYS[table]
    if table == "order_lines":  # an order's lines arrive as a whole: replace them all
        keys = ("shop_id", "order_id")
    stored, new = con.table(table), con.table(stage)
    updated = int(con.execute(new.semi_join(stored, list(keys)).count()))
    execute(con, delete_listed(table, stage, keys))
    con.insert(table, new)
    return updated


def _record_tag_changes(con: BaseBackend, scratch: Scratch, tz: str) -> int:
    """Append a tag-history row for every staged customer whose tags changed."""
    stage = next(s for s in scratch.names if s.startswith("_staged_customers_"))
    customers = con.table(stage)
    history = con.table("customer_tag_history")
    latest = history.mutate(
        _rank=ibis.row_number().over(
            group_by=[history.shop_id, history.customer_id], order_by=ibis.desc(history.seen_at)
        )
    ).filter(lambda t: t._rank == 0)
    joined = customers.left_join(latest, ["shop_id", "customer_id"])
    changed = joined.filter(
        joined.tags_right.isnull() | (joined.tags.sort() != joined.tags_right.sort())
    )
    seen_at = ibis.greatest(
        changed.updated_at.fill_null(changed.created_at),
        changed.seen_at.fill_null(changed.created_at),
    )
    rows = changed.select(
        "shop_id",
        "customer_id",
        seen_at=seen_at.fill_null(ibis.now().cast("timestamp")).cast("timestamp"),
        tags=changed.tags,
    )
    # NOTE: local dates are derived in Arrow (engines disagree on time zones): round-trip.
    data = add_local_dates("customer_tag_history", con.to_pyarrow(rows), tz)
    if data.num_rows:
        stage = _stage(scratch, "customer_tag_history", data)
        _replace(con, "customer_tag_history", stage)
    return data.num_rows


def _drop_unchanged_statistics(scratch: Scratch, stage: str) -> None:
    """Remove the staged statistics equal to the customer's latest stored ones (and not older):
    the history keeps a row only when a value changed."""
    con = scratch.con
    new, stored = con.table(stage), con.table("customer_statistics_history")
    latest = stored.mutate(
        _rank=ibis.row_number().over(
            group_by=[stored.shop_id, stored.customer_id], order_by=ibis.desc(stored.seen_at)
        )
    ).filter(lambda t: t._rank == 0)
    keys = ["shop_id", "customer_id"]
    same = new.semi_join(latest, [
        *(new[k] == latest[k] for k in keys),
        new.seen_at >= latest.seen_at,
        new.rfm_group.identical_to(latest.rfm_group),
        new.predicted_spend_tier.identical_to(latest.predicted_spend_tier),
    ]).select("shop_id", "customer_id", "seen_at")
    unchanged = con.to_pyarrow(same)
    if unchanged.num_rows:
        listed = scratch.keep(unchanged, prefix="_unchanged_statistics")
        execute(con, delete_listed(stage, listed, ("shop_id", "customer_id", "seen_at")))


def _stub_customers(con: BaseBackend, orders_written: str) -> int:
    """Create a customer row for every customer of the batch's orders the ledger does not know."""
    orders, customers = con.table(orders_written), con.table("customers")
    unknown = orders.filter(orders.customer_id.notnull()).anti_join(
        customers, ["shop_id", "customer_id"]
    )
    stubs = unknown.group_by(["shop_id", "customer_id"]).aggregate(
        created_at=unknown.processed_at.min(), created_on=unknown.processed_on.min()
    )
    count = int(con.execute(stubs.count()))
    if count:  # NOTE: tags stay NULL (meaning none): PostgreSQL cannot type an empty ARRAY[]
        columns = {
            name: stubs[name] if name in stubs.columns else ibis.null().cast(dtype)
            for name, dtype in TABLES["customers"].items()
        }
        con.insert("customers", stubs.select(**columns))
    return count


def import_parquet_folder(con: BaseBackend, folder: Path, *, tz: str) -> dict[str, int]:
    """Load canonical ``<table>.parquet`` files from ``folder`` (as the demo writes them)."""
    tables: dict[str, Any] = {}
    for name in TABLES:
        path = Path(folder) / f"{name}.parquet"
        if path.exists():
            tables[name] = pq.read_table(path)
    if not tables:
        raise DataImportError(
            f"No ledger Parquet files in {folder}.",
            hint=f"Expected files named {', '.join(f'{n}.parquet' for n in TABLES)}.",
        )
    return write_batch(con, LedgerBatch(**tables), tz=tz)
