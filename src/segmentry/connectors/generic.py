"""Any CSV or Parquet file of orders (one row per order) or order lines (one row per line), with
a mapping from canonical column names to the file's columns; and folders of Parquet files
already in the canonical ledger columns.

Which of the two a file holds is detected unless told (``rows="auto"``): line rows when the
mapping or the file's header names any line column (``sku``, ``quantity`` …), else order rows.

A canonical column the mapping leaves out is read from a file column of the same name when
there is one, so a file in canonical columns needs no mapping at all. Required: ``order_id``,
``customer_id`` or ``email``, ``processed_at`` and ``total`` (for line rows ``total`` may be left
out: the order total is then the sum of its line totals); line rows also need ``sku`` or
``product_id``, ``quantity``, and ``unit_price`` or ``line_total``.

Timestamps without an offset are local time in the shop's zone. Values are validated as in
:mod:`segmentry.connectors.records`; bad rows are handled as by the Shopify readers.

>>> sorted(LINE_FIELDS)[:3]
['line_id', 'line_total', 'product_id']
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentry.connectors.channels import derive_channel, is_subscription
from segmentry.connectors.identity import CustomerLinks, product_id_for
from segmentry.connectors.records import (
    CENT,
    Cells,
    Encoding,
    OrderGroups,
    OrderRows,
    Problems,
    ReadResult,
    Record,
    SourceFile,
    read_csv,
    read_parquet_rows,
)
from segmentry.core.errors import DataImportError, or_list
from segmentry.i18n.catalogue import N_
from segmentry.ledger.schema import TABLES
from segmentry.ledger.store import LedgerBatch, conform

__all__ = [
    "FIELDS",
    "LINE_FIELDS",
    "ORDER_FIELDS",
    "Rows",
    "read_generic",
    "read_parquet_folder",
    "rows_of",
]

Rows = Literal["auto", "order", "line"]

# canonical name → kind of value. Order-level fields:
ORDER_FIELDS: dict[str, str] = {
    "order_id": "text",
    "name": "text",
    "customer_id": "text",
    "email": "text",
    "processed_at": "timestamp",
    "cancelled_at": "timestamp",
    "currency": "text",
    "subtotal": "money",
    "discounts": "money",
    "shipping": "money",
    "tax": "money",
    "total": "money",
    "refunded": "money",
    "source_name": "text",
    "channel": "text",
    "utm_source": "text",
    "utm_medium": "text",
    "utm_campaign": "text",
    "landing_site": "text",
    "referring_site": "text",
    "discount_codes": "list",
    "tags": "list",
    "is_subscription": "bool",
}
# Line-level fields (``line_total`` is the line's ``total`` in the ledger):
LINE_FIELDS: dict[str, str] = {
    "line_id": "text",
    "product_id": "text",
    "variant_id": "text",
    "sku": "text",
    "title": "text",
    "product_type": "text",
    "vendor": "text",
    "product_tags": "list",
    "quantity": "int",
    "unit_price": "money",
    "line_total": "money",
}
FIELDS: dict[str, str] = {**ORDER_FIELDS, **LINE_FIELDS}
_PRODUCT_FIELDS = ("title", "product_type", "vendor", "product_tags")
_ZERO = Decimal("0.00")


def read_generic(
    path: Path,
    *,
    mapping: Mapping[str, str],
    rows: Rows,
    shop_id: str,
    tz: str,
    customer_ids: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    encoding: Encoding = "auto",
    spill: Path | None = None,
) -> ReadResult:
    """Orders (and lines, products) from a CSV or Parquet file (chosen by suffix).

    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = f.write_text("id,buyer,at,amount\\nA1,c9,2026-01-05 10:00,1200\\n")
    >>> m = {"order_id": "id", "customer_id": "buyer", "processed_at": "at", "total": "amount"}
    >>> batch, bad = read_generic(f, mapping=m, rows="auto", shop_id="s", tz="Asia/Tokyo")
    >>> batch.orders.column("processed_at").to_pylist()
    [datetime.datetime(2026, 1, 5, 1, 0)]
    """
    source = _source(path, encoding)
    problems = Problems(source.name)
    kind = rows_of(source, mapping, rows)
    columns = _resolve(source, mapping, kind, problems)
    problems.raise_if_any("columns", *_columns_problem(source, kind, columns))
    build = partial(_build, columns=columns, lines=kind == "line", shop_id=shop_id, tz=tz,
                    customer_ids=customer_ids, spill=spill)
    builder, groups = build(source, Problems(source.name), frozenset())
    if groups.scattered:  # read again, holding the scattered orders until they are whole
        builder.discard()
        source = _source(path, encoding)
        builder, _ = build(source, Problems(source.name), frozenset(groups.scattered))
    problems = builder.problems
    if not skip_bad_rows:
        problems.raise_if_any("file", _rows_problem(builder))
    for order_id, records in builder.rejected:
        problems.reject_rest(records, columns["order_id"], order_id)
    return ReadResult(builder.batch(), problems.sorted())


def _source(path: Path, encoding: Encoding) -> SourceFile:
    if path.suffix.casefold() == ".parquet":
        return read_parquet_rows(path)
    return read_csv(path, encoding=encoding)


def _build(
    source: SourceFile,
    problems: Problems,
    gather: frozenset[str],
    *,
    columns: Mapping[str, str],
    lines: bool,
    shop_id: str,
    tz: str,
    customer_ids: Mapping[str, str] | None,
    spill: Path | None,
) -> tuple[_Builder, OrderGroups]:
    """One pass over the file: every order built (or rejected) as soon as its rows are read."""
    links = CustomerLinks(shop_id, customer_ids)
    builder = _Builder(shop_id, tz, columns, problems, links, spill)
    groups = OrderGroups(gather)
    for order_id, records in groups(_keyed_rows(source, columns, problems)):
        builder.add(order_id, records, lines=lines)
    return builder, groups


def rows_of(
    source: SourceFile, mapping: Mapping[str, str], rows: Rows
) -> Literal["order", "line"]:
    """``rows``, or for ``"auto"``: line rows when the mapping or the header names a line
    column, else order rows.

    >>> f = SourceFile("o.csv", ("order_id", "customer_id", "processed_at", "total"), [])
    >>> rows_of(f, {}, "auto"), rows_of(f, {"quantity": "数量"}, "auto"), rows_of(f, {}, "line")
    ('order', 'line', 'line')
    """
    if rows != "auto":
        return rows
    present = {c.casefold() for c in source.columns}
    named = set(mapping) | {key for key in LINE_FIELDS if key.casefold() in present}
    return "line" if named & set(LINE_FIELDS) else "order"


def _resolve(
    source: SourceFile, mapping: Mapping[str, str], rows: str, problems: Problems
) -> dict[str, str]:
    """Canonical name → file column; every missing requirement becomes a problem."""
    unknown = sorted(set(mapping) - set(FIELDS))
    if unknown:
        raise DataImportError(
            "Unknown canonical column(s) in the mapping: {columns}.",
            hint="Canonical columns: {canonical}.",
            params={"columns": ", ".join(unknown), "canonical": ", ".join(FIELDS)},
        )
    if rows == "order" and (line_keys := sorted(set(mapping) & set(LINE_FIELDS))):
        raise DataImportError(
            "Line columns ({columns}) in a file of one row per order.",
            code="line_columns_in_order_rows",
            params={"columns": ", ".join(line_keys)},
        )
    present = {c.casefold(): c for c in source.columns}
    wanted = FIELDS if rows == "line" else ORDER_FIELDS
    columns: dict[str, str] = {}
    for key in wanted:
        header = mapping.get(key, key)
        if header.casefold() in present:
            columns[key] = present[header.casefold()]
        elif key in mapping:
            # NOTE: no option or setting in the reason: each interface adds its own by code
            problems.add(source.header_line, header, N_("no such column in the file"),
                         code="mapped_column_missing", params={"key": key, "header": header})
    for need in _requirements(rows):
        if not any(k in columns or k in mapping for k in need):  # mapped: reported above
            names = " or ".join(mapping.get(k, k) for k in need)
            problems.add(source.header_line, names, N_("missing required column"),
                         code="required_column_missing",
                         params={"key": need[0], "keys": or_list(need)})
    return columns


_SHOWN_COLUMNS = 40


def _columns_problem(
    source: SourceFile, rows: str, columns: Mapping[str, str]
) -> tuple[str, dict[str, object]]:
    """The code and params of missing columns (each interface says how to map them, and names
    the row kind when lines are missing): ``missing_line_columns`` or ``missing_columns``,
    with the file's columns."""
    shown = ", ".join(source.columns[:_SHOWN_COLUMNS])
    if len(source.columns) > _SHOWN_COLUMNS:
        shown += ", …"
    if rows == "line" and any(not any(k in columns for k in need) for need in _LINE_NEEDS):
        return "missing_line_columns", {"columns": shown}
    return "missing_columns", {"columns": shown}


def _rows_problem(builder: _Builder) -> str:
    """The code of bad rows; an order id seen twice in order rows may mean line rows."""
    return "bad_rows_repeated_orders" if builder.repeated else "bad_rows"


_ORDER_NEEDS = [("order_id",), ("customer_id", "email"), ("processed_at",)]
_LINE_NEEDS = [("sku", "product_id"), ("quantity",), ("unit_price", "line_total")]


def _requirements(rows: str) -> list[tuple[str, ...]]:
    if rows == "order":
        return [*_ORDER_NEEDS, ("total",)]
    return [*_ORDER_NEEDS, *_LINE_NEEDS]


def _keyed_rows(
    source: SourceFile, columns: Mapping[str, str], problems: Problems
) -> Iterator[tuple[str, Record]]:
    for record in source.records:
        order_id = Cells(record, columns, problems).text("order_id")
        if order_id is None:
            problems.add(record.line, columns["order_id"], "row has no order id")
            continue
        yield order_id, record


def _read(cells: Cells, keys: Mapping[str, str]) -> dict[str, Any]:
    """The parsed values of the given fields present in the file."""
    readers: dict[str, Callable[[str], Any]] = {
        "text": cells.text,
        "timestamp": cells.timestamp,
        "money": cells.money,
        "int": cells.integer,
        "bool": cells.boolean,
    }
    values: dict[str, Any] = {}
    for key, kind in keys.items():
        if key in cells.columns:
            values[key] = cells.texts(key) if kind == "list" else readers[kind](key)
    return values


class _Builder(OrderRows):
    """Turns each order's records into canonical rows; rejects an order with any bad row."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.rejected: list[tuple[str, list[Record]]] = []
        self.repeated = False  # an order id on two rows of a file of order rows

    def add(self, order_id: str, records: list[Record], *, lines: bool) -> None:
        before = len(self.problems)
        cells = [Cells(r, self.columns, self.problems, self.tz) for r in records]
        first = cells[0]
        head = _read(first, ORDER_FIELDS)
        line_rows = [self._line(c, i) for i, c in enumerate(cells, start=1)] if lines else []
        for other in cells[1:]:
            if lines:
                _check_agrees(other, head, first.line)
            else:
                self.repeated = True
                other.bad(
                    "order_id",
                    f"order {order_id} appears twice (also on line {first.line})",
                    order_id,
                )
        order = self._order(first, head, line_rows)
        if len(self.problems) > before:
            self.rejected.append((order_id, records))
            return
        self._accept(order, head, line_rows)

    def _order(self, first: Cells, head: dict[str, Any], lines: list[dict[str, Any]]) -> dict:
        _require(first, head, "processed_at")
        has_customer = first.has("customer_id") or first.has("email")
        if not (head.get("customer_id") or head.get("email") or has_customer):
            first.bad(
                "customer_id" if "customer_id" in first.columns else "email",
                "row has neither a customer id nor an email",
            )
        total = head.get("total")
        if "total" in self.columns:
            _require(first, head, "total")
        elif all(line["total"] is not None for line in lines):
            total = first.computed_money(
                "line_total" if "line_total" in self.columns else "quantity",
                sum((line["total"] for line in lines), _ZERO),
                "the order total (the sum of its line totals)",
            )
        tags = head.get("tags") or []
        subscription = head.get("is_subscription")
        return {
            **{k: v for k, v in head.items() if k not in {"email"}},
            "shop_id": self.shop_id,
            "name": head.get("name") or head.get("order_id"),
            "customer_id": head.get("customer_id") or self.links.customer_id(head.get("email")),
            "total": total,
            "discounts": head.get("discounts") or _ZERO,
            "refunded": head.get("refunded") or _ZERO,
            "tags": tags,
            "discount_codes": head.get("discount_codes") or [],
            "channel": head.get("channel")
            or derive_channel(
                head.get("utm_source"),
                head.get("utm_medium"),
                head.get("referring_site"),
                head.get("source_name"),
            ),
            "is_subscription": subscription
            if subscription is not None
            else is_subscription(tags, head.get("source_name")),
        }

    def _line(self, c: Cells, position: int) -> dict[str, Any]:
        v = _read(c, LINE_FIELDS)
        quantity = _require(c, v, "quantity")
        if quantity is not None and quantity < 0:
            c.bad("quantity", "quantity is negative", quantity)
        unit_price, total = v.get("unit_price"), v.get("line_total")
        if unit_price is None and total is not None and quantity:
            unit_price = (total / quantity).quantize(CENT)
        if total is None and unit_price is not None and quantity is not None:
            total = c.computed_money("quantity", unit_price * quantity, "unit price × quantity")
        priced = c.has("unit_price") or c.has("line_total")
        if unit_price is None and total is None and not priced:
            c.bad(
                "unit_price" if "unit_price" in c.columns else "line_total",
                "line has neither a unit price nor a line total",
            )
        sku, title, vendor = v.get("sku"), v.get("title"), v.get("vendor")
        product_id = v.get("product_id")
        if product_id is None and sku is None:
            c.bad(
                "sku" if "sku" in c.columns else "product_id",
                "line has neither a SKU nor a product id",
            )
        return {
            **{
                k: v[k]
                for k in ("variant_id", "sku", "title", "product_type", "vendor", "product_tags")
                if k in v
            },
            "shop_id": self.shop_id,
            "line_id": v.get("line_id") or str(position),
            "product_id": product_id or product_id_for(sku=sku, title=title, vendor=vendor),
            "quantity": quantity,
            "unit_price": unit_price,
            "total": total,
        }

    def _accept(self, order: dict[str, Any], head: dict[str, Any], lines: list[dict]) -> None:
        self.orders.append(order)
        if not head.get("customer_id"):
            self.links.saw(head.get("email"), order["processed_at"])
        for line in lines:
            line["order_id"] = order["order_id"]
            self.lines.append(line)
            self._product(line, order["processed_at"])

    def _product(self, line: dict[str, Any], at: Any) -> None:
        """Products come from lines when the file names them; the latest order's naming wins."""
        if not any(k in self.columns for k in _PRODUCT_FIELDS):
            return
        known = self.products.get(line["product_id"])
        if known is None or at >= known[0]:
            row = {k: line.get(k) for k in ("title", "product_type", "vendor")}
            row.update(
                shop_id=self.shop_id, product_id=line["product_id"], tags=line.get("product_tags")
            )
            self.products[line["product_id"]] = (at, row)


def _require(cells: Cells, values: dict[str, Any], key: str) -> Any:
    """The value of a required field; an empty one is a problem (a bad one already is)."""
    value = values.get(key)
    if value is None and not cells.has(key):
        cells.bad(key, "required value is empty")
    return value


def _check_agrees(cells: Cells, head: dict[str, Any], first_line: int) -> None:
    """Order-level values repeated on later lines must agree with the order's first line."""
    for key, value in _read(cells, ORDER_FIELDS).items():
        if cells.has(key) and value is not None and value != head.get(key):
            cells.bad(
                key, f"differs from the order's first row (line {first_line})", cells.raw(key)
            )


# ---------------------------------------------------------------- canonical Parquet


def read_parquet_folder(folder: Path, *, shop_id: str) -> LedgerBatch:
    """Canonical ``<table>.parquet`` files of a folder (e.g. exported from another workspace).

    Files must be in canonical columns (:mod:`segmentry.ledger.schema`); a missing ``shop_id``
    column is filled with ``shop_id``, and rows of another shop are refused.
    """
    tables: dict[str, pa.Table] = {}
    for name in TABLES:
        path = Path(folder) / f"{name}.parquet"
        if path.exists():
            tables[name] = conform(name, _with_shop(pq.read_table(path), shop_id, path))
    if not tables:
        raise DataImportError(
            "No ledger Parquet files in {folder}.",
            hint="Expected files named {files}.",
            params={"folder": str(folder), "files": ", ".join(f"{n}.parquet" for n in TABLES)},
        )
    return LedgerBatch(**tables)


def _with_shop(table: pa.Table, shop_id: str, path: Path) -> pa.Table:
    if "shop_id" not in table.column_names:
        return table.add_column(0, "shop_id", pa.array([shop_id] * table.num_rows, pa.string()))
    others = set(pc.unique(table.column("shop_id")).to_pylist()) - {shop_id}
    if others:
        raise DataImportError(
            "{path} holds rows of shop(s) {shops}, not of this workspace's shop {shop!r}.",
            hint="Set shop.id in segmentry.toml to the shop the files belong to.",
            params={"path": str(path), "shops": ", ".join(sorted(map(str, others))),
                    "shop": shop_id},
        )
    return table
