"""Shopify's CSV exports: ``orders_export.csv`` and ``customers_export.csv`` (Shopify admin →
Orders / Customers → Export).

Columns are found by header name, so older exports (``Fulfillment Date`` instead of
``Fulfilled at``, customers files with ``Company``, ``City``, ``Province Code``, ``Country
Code``, with or without ``Customer ID``) read the same way; unknown columns are ignored.

The orders export has **one row per line item**. Rows are grouped by ``Name`` (``#1001``); the
order-level columns (totals, ``Id``, ``Tags``, ``Source``, ``Discount Code`` …) are read from the
order's first row, the one with ``Total`` filled in. The export has no customer id: orders are
linked to customers by ``Email`` (see :mod:`segmentry.connectors.identity`), and it has no
product id: products are identified by SKU, else by vendor and line-item name.

Every reader collects **all** bad values as :class:`~segmentry.core.errors.BadRow` s. By default any
bad row raises :class:`~segmentry.core.errors.DataImportError` (nothing is imported); with
``skip_bad_rows=True`` the good rows come back with the list of rejected ones. An order with any
bad line is rejected whole.

>>> from pathlib import Path
>>> sniff(Path(__file__).parent / "missing.csv") is None
True
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, Literal

from segmentry.connectors.channels import (
    derive_channel,
    is_subscription,
    utm_from_attributes,
    utm_from_url,
)
from segmentry.connectors.identity import CustomerLinks, customer_id_for_email, product_id_for
from segmentry.connectors.records import (
    Cells,
    Encoding,
    OrderGroups,
    OrderRows,
    Problems,
    ReadResult,
    Record,
    SourceFile,
    arrow_table,
    read_csv,
    resolve_columns,
)
from segmentry.core.errors import BadRow, Text
from segmentry.ledger.store import LedgerBatch

__all__ = [
    "CUSTOMER_HEADERS",
    "ORDER_HEADERS",
    "ReadResult",
    "read_customers_export",
    "read_orders_export",
    "sniff",
]

# key → accepted headers, newest name first.
ORDER_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("Name",),
    "id": ("Id",),
    "email": ("Email",),
    "financial_status": ("Financial Status",),
    "accepts_marketing": ("Accepts Marketing", "Accepts Email Marketing"),
    "currency": ("Currency",),
    "subtotal": ("Subtotal",),
    "shipping": ("Shipping",),
    "tax": ("Taxes",),
    "total": ("Total",),
    "discount_codes": ("Discount Code",),
    "discounts": ("Discount Amount",),
    "processed_at": ("Created at",),
    "cancelled_at": ("Cancelled at",),
    "refunded": ("Refunded Amount",),
    "tags": ("Tags",),
    "source_name": ("Source",),
    "note_attributes": ("Note Attributes",),
    "landing_site": ("Landing Site", "Landing Page", "Landing Page URL"),
    "referring_site": ("Referring Site", "Referrer"),
    "phone": ("Phone", "Billing Phone"),
    "quantity": ("Lineitem quantity",),
    "title": ("Lineitem name",),
    "unit_price": ("Lineitem price",),
    "sku": ("Lineitem sku",),
    "line_discount": ("Lineitem discount",),
    "vendor": ("Vendor",),
}
_ORDER_REQUIRED = ("name", "processed_at", "total", "quantity", "title", "unit_price")
# Filled only on an order's first row: the marker of a first row.
_FIRST_ROW_ONLY = ("total", "subtotal", "financial_status")

_ZERO = Decimal("0.00")

CUSTOMER_HEADERS: dict[str, tuple[str, ...]] = {
    "customer_id": ("Customer ID",),
    "first_name": ("First Name",),
    "last_name": ("Last Name",),
    "email": ("Email",),
    "email_marketing": ("Accepts Email Marketing", "Accepts Marketing"),
    "sms_marketing": ("Accepts SMS Marketing",),
    "city": ("Default Address City", "City"),
    "region": ("Default Address Province Code", "Province Code"),
    "country": ("Default Address Country Code", "Country Code"),
    "phone": ("Phone",),
    "address_phone": ("Default Address Phone",),
    "tags": ("Tags",),
}


def sniff(path: Path) -> Literal["orders", "customers"] | None:
    """Which Shopify export a CSV file is, by its header (None: not a Shopify export)."""
    try:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            header = {h.strip().casefold() for h in next(csv.reader(f), [])}
    except (OSError, csv.Error):
        return None
    if {"name", "lineitem quantity"} <= header:
        return "orders"
    if "email" in header and ({"accepts email marketing", "total spent"} & header):
        return "customers"
    return None


# ---------------------------------------------------------------- orders


@dataclass
class _Order:
    """One order's rows while it is read; ``errors`` > 0 rejects it whole."""

    name: str
    records: list[Record] = field(default_factory=list)


def read_orders_export(
    path: Path,
    *,
    shop_id: str,
    tz: str,
    customer_ids: Mapping[str, str] | None = None,
    skip_bad_rows: bool = False,
    encoding: Encoding = "auto",
    spill: Path | None = None,
) -> ReadResult:
    """Orders, order lines and products from an ``orders_export.csv``.

    ``customer_ids`` maps lower-cased emails to known customer ids (from a customers export and
    the ledger); other emails get derived ids and a minimal customer row. ``tz`` is the shop's
    time zone, used only for timestamps written without an offset. The file is read row by
    row, each order built as soon as its rows are read; with ``spill`` (a folder) the order
    and line rows go to Parquet files there (:class:`~segmentry.ledger.store.SpilledTable`),
    so memory does not grow with the file.
    """
    source = read_csv(path, encoding=encoding)
    problems = Problems(source.name)
    columns = resolve_columns(source, ORDER_HEADERS, _ORDER_REQUIRED, problems)
    # a missing column: no row can be read (the interfaces advise exporting the file again
    # from the admin page {page})
    problems.raise_if_any("header", "export_columns", {"page": Text("Orders")})
    build = partial(_build_orders, columns=columns, shop_id=shop_id, tz=tz,
                    customer_ids=customer_ids, spill=spill)
    builder, groups = build(source, Problems(source.name), frozenset())
    if groups.scattered:  # read again, holding the scattered orders until they are whole
        builder.discard()
        source = read_csv(path, encoding=encoding)
        builder, _ = build(source, Problems(source.name), frozenset(groups.scattered))
    bad_rows = builder.finish(skip_bad_rows)
    return ReadResult(builder.batch(), bad_rows)


def _build_orders(
    source: SourceFile,
    problems: Problems,
    gather: frozenset[str],
    *,
    columns: Mapping[str, str],
    shop_id: str,
    tz: str,
    customer_ids: Mapping[str, str] | None,
    spill: Path | None,
) -> tuple[_OrdersBuilder, OrderGroups]:
    """One pass over the file: every order built (or rejected) as soon as its rows are read."""
    links = CustomerLinks(shop_id, customer_ids)
    builder = _OrdersBuilder(shop_id, tz, columns, problems, links, spill)
    groups = OrderGroups(gather)
    for name, records in groups(_named_rows(source, columns, problems)):
        builder.add(_Order(name, records))
    return builder, groups


def _named_rows(
    source: SourceFile, columns: Mapping[str, str], problems: Problems
) -> Iterator[tuple[str, Record]]:
    for record in source.records:
        name = Cells(record, columns, problems).text("name")
        if name is None:
            problems.add(record.line, columns["name"], "row has no order Name")
            continue
        yield name, record


class _OrdersBuilder(OrderRows):
    """Turns grouped rows into canonical order, line and product rows."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.rejected: list[_Order] = []

    def add(self, order: _Order) -> None:
        before = len(self.problems)
        cells = [Cells(r, self.columns, self.problems, self.tz) for r in order.records]
        first = self._first_row(order, cells)
        head = self._order_row(first) if first is not None else None
        lines = [self._line_row(c, i) for i, c in enumerate(cells, start=1)]
        if head is None or len(self.problems) > before:
            self.rejected.append(order)
            return
        head["order"]["order_id"] = head["order"]["order_id"] or order.name
        self._accept(head, lines)

    def _first_row(self, order: _Order, cells: list[Cells]) -> Cells | None:
        firsts = [c for c in cells if any(c.has(k) for k in _FIRST_ROW_ONLY)]
        if not firsts:
            for c in cells:
                c.bad(
                    "name",
                    f"line item of order {order.name} without the order's first row "
                    "(the row with Total filled in)",
                    order.name,
                )
            return None
        for extra in firsts[1:]:
            extra.bad(
                "name",
                f"order {order.name} appears twice (first row also on line {firsts[0].line})",
                order.name,
            )
        return firsts[0]

    def _order_row(self, c: Cells) -> dict[str, Any]:
        total = c.money("total", required=True)
        refunded = c.money("refunded")
        if refunded is None and (c.text("financial_status") or "").casefold() == "refunded":
            refunded = total  # older exports have no Refunded Amount column
        tags, source_name, email = c.texts("tags"), c.text("source_name"), c.text("email")
        order = {
            "shop_id": self.shop_id,
            "order_id": c.text("id"),
            "name": c.text("name"),
            "customer_id": self.links.customer_id(email),
            "processed_at": c.timestamp("processed_at", required=True),
            "cancelled_at": c.timestamp("cancelled_at"),
            "currency": c.text("currency"),
            "subtotal": c.money("subtotal"),
            "discounts": c.money("discounts") or _ZERO,
            "shipping": c.money("shipping"),
            "tax": c.money("tax"),
            "total": total,
            "refunded": refunded if refunded is not None else _ZERO,
            "source_name": source_name,
            **_marketing(c, source_name),
            "discount_codes": c.texts("discount_codes"),
            "tags": tags,
            "is_subscription": is_subscription(tags, source_name),
        }
        customer = {
            "phone": c.text("phone"),
            "email_marketing_state": _marketing_state(c.boolean("accepts_marketing")),
        }
        return {"order": order, "email": email, "customer": customer}

    def _line_row(self, c: Cells, position: int) -> dict[str, Any]:
        quantity = c.integer("quantity", required=True)
        if quantity is not None and quantity < 0:
            c.bad("quantity", "quantity is negative", quantity)
        unit_price = c.money("unit_price", required=True)
        discount = c.money("line_discount") or _ZERO
        sku, title, vendor = c.text("sku"), c.text("title"), c.text("vendor")
        if not (sku or title):
            c.bad("title", "line item has neither a name nor a SKU")
        total = None
        if quantity is not None and unit_price is not None:
            total = c.computed_money(
                "quantity", unit_price * quantity - discount, "price × quantity − discount"
            )
        return {
            "shop_id": self.shop_id,
            "line_id": str(position),
            "product_id": product_id_for(sku=sku, title=title, vendor=vendor),
            "sku": sku,
            "title": title,
            "vendor": vendor,
            "quantity": quantity,
            "unit_price": unit_price,
            "total": total,
        }

    def _accept(self, head: dict[str, Any], lines: list[dict[str, Any]]) -> None:
        order = head["order"]
        self.orders.append(order)
        self.links.saw(head["email"], order["processed_at"], **head["customer"])
        for line in lines:
            line["order_id"] = order["order_id"]
            self.lines.append(line)
            self._product(line, order["processed_at"])

    def _product(self, line: dict[str, Any], at: Any) -> None:
        """Keep the product as named on its latest order in the file."""
        known = self.products.get(line["product_id"])
        if known is None or at >= known[0]:
            self.products[line["product_id"]] = (
                at,
                {
                    "shop_id": self.shop_id,
                    "product_id": line["product_id"],
                    "title": line["title"],
                    "vendor": line["vendor"],
                },
            )

    def finish(self, skip_bad_rows: bool) -> list[BadRow]:
        """Raise on any problem unless skipping; else the problems plus the rows they reject."""
        if not skip_bad_rows:
            self.problems.raise_if_any("orders_export")
            return []
        for order in self.rejected:
            self.problems.reject_rest(order.records, self.columns["name"], order.name)
        return self.problems.sorted()


def _marketing(c: Cells, source_name: str | None) -> dict[str, Any]:
    """UTM tags, landing and referring site (columns of older exports, else note attributes
    written by checkout apps), and the channel derived from them."""
    attributes = utm_from_attributes(c.text("note_attributes"))
    landing = (
        c.text("landing_site") or attributes.get("landing_site") or attributes.get("landing_page")
    )
    referring = (
        c.text("referring_site") or attributes.get("referring_site") or attributes.get("referrer")
    )
    utm = {**attributes, **utm_from_url(landing)}
    source, medium = utm.get("utm_source"), utm.get("utm_medium")
    return {
        "channel": derive_channel(source, medium, referring, source_name),
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": utm.get("utm_campaign"),
        "landing_site": landing,
        "referring_site": referring,
    }


def _marketing_state(accepts: bool | None) -> str | None:
    if accepts is None:
        return None
    return "SUBSCRIBED" if accepts else "NOT_SUBSCRIBED"


# ---------------------------------------------------------------- customers


def read_customers_export(
    path: Path, *, shop_id: str, skip_bad_rows: bool = False, encoding: Encoding = "auto"
) -> ReadResult:
    """Customers from a ``customers_export.csv`` (current or older header).

    Without a ``Customer ID`` column (older exports) a customer's id is derived from the email,
    as for orders whose customer is unknown.
    """
    source = read_csv(path, encoding=encoding)
    problems = Problems(source.name)
    columns = resolve_columns(source, CUSTOMER_HEADERS, ("email",), problems)
    problems.raise_if_any("header", "export_columns", {"page": Text("Customers")})
    rows: dict[str, dict[str, Any]] = {}
    first_line: dict[str, int] = {}
    for record in source.records:
        cells = Cells(record, columns, problems)
        row = _customer_row(cells, shop_id)
        if row is None or cells.errors:
            continue
        if row["customer_id"] in rows:
            cells.bad(
                "customer_id" if "customer_id" in columns else "email",
                f"customer appears twice (also on line {first_line[row['customer_id']]})",
                row["customer_id"],
            )
            continue
        rows[row["customer_id"]] = row
        first_line[row["customer_id"]] = record.line
    if not skip_bad_rows:
        problems.raise_if_any("customers_export")
    batch = LedgerBatch(customers=arrow_table("customers", list(rows.values())))
    return ReadResult(batch, problems.sorted())


def _customer_row(c: Cells, shop_id: str) -> dict[str, Any] | None:
    email = c.text("email")
    customer_id = c.text("customer_id")
    if customer_id is None and email is None:
        c.bad(
            "customer_id" if "customer_id" in c.columns else "email",
            "row has neither a Customer ID nor an Email",
        )
        return None
    return {
        "shop_id": shop_id,
        "customer_id": customer_id or customer_id_for_email(email or ""),
        "email": email,
        "phone": c.text("phone") or c.text("address_phone"),
        "first_name": c.text("first_name"),
        "last_name": c.text("last_name"),
        "tags": c.texts("tags"),
        "email_marketing_state": _marketing_state(c.boolean("email_marketing")),
        "sms_marketing_state": _marketing_state(c.boolean("sms_marketing")),
        "country": c.text("country"),
        "region": c.text("region"),
        "city": c.text("city"),
    }
