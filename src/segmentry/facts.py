"""Derived facts: the ledger reshaped for segment evaluation, journeys and metrics.

- ``order_facts``: one row per order with a customer; ``amount`` is what the order is worth
  (``total - refunded`` when refunds are subtracted, else ``total``); ``seq`` is the order's
  position among the customer's orders that were never cancelled (1 = first order), NULL for
  cancelled orders. As-of evaluation recomputes positions per day (see
  :mod:`segmentry.evaluation`), because an order cancelled later still counted before.
- ``line_facts``: one row per order line with the product's ``product_line`` (a view: lines
  are joined to the as-of orders by ``order_id`` where a condition needs them).

:func:`build_facts` rebuilds them from the ledger, so the facts stay a pure function of it.
"""

from __future__ import annotations

import contextlib

import ibis
from ibis.backends import BaseBackend

from segmentry.engine import transaction
from segmentry.ledger.schema import MONEY

__all__ = ["FACT_TABLES", "build_facts", "line_facts", "order_facts"]

FACT_TABLES = ("order_facts", "line_facts")


def order_facts(con: BaseBackend, *, subtract_refunds: bool) -> ibis.Table:
    """The ``order_facts`` expression over the ledger's ``orders`` table."""
    o = con.table("orders")
    o = o.filter(o.customer_id.notnull())
    refunded = o.refunded.fill_null(0) if subtract_refunds else ibis.literal(0)
    never_cancelled = o.cancelled_at.isnull()
    seq = ibis.row_number().over(
        group_by=[o.customer_id, never_cancelled], order_by=[o.processed_at, o.order_id]
    )
    return o.select(
        "shop_id",
        "customer_id",
        "order_id",
        "name",
        "processed_at",
        "processed_on",
        "cancelled_on",
        "total",
        amount=(o.total.fill_null(0) - refunded).cast(MONEY),
        channel=o.channel.fill_null("direct"),
        utm_source=o.utm_source,
        utm_medium=o.utm_medium,
        utm_campaign=o.utm_campaign,
        source_name=o.source_name,
        discount_codes=o.discount_codes,
        order_tags=o.tags,
        is_subscription=o.is_subscription.fill_null(False),
        seq=ibis.ifelse(never_cancelled, seq + 1, ibis.null()).cast("int64"),
    )


def line_facts(con: BaseBackend) -> ibis.Table:
    """The ``line_facts`` expression: order lines with their product's product line.

    Joined to orders by ``order_id`` where needed (the as-of orders already carry the customer
    and the days), so this is a view, not a copy of every line.
    """
    lines, products = con.table("order_lines"), con.table("products")
    p = products.select("shop_id", "product_id", "product_line")
    joined = lines.left_join(p, ["shop_id", "product_id"])
    return joined.select(
        "shop_id",
        "order_id",
        "line_id",
        "product_id",
        "variant_id",
        "sku",
        "title",
        "product_type",
        "vendor",
        "product_line",
        product_tags=joined.product_tags,
        quantity=joined.quantity.fill_null(0),
        line_total=joined.total,
    )


def build_facts(con: BaseBackend, *, subtract_refunds: bool) -> None:
    """(Re)build ``order_facts`` and ``line_facts`` from the ledger, atomically."""
    # NOTE: workspaces made before line_facts became a view hold it as a table. Dropping a
    # view as a table fails (harmlessly, outside the transaction): that is the usual case.
    with contextlib.suppress(Exception):
        con.drop_table("line_facts", force=True)
    with transaction(con):
        con.create_table(
            "order_facts", order_facts(con, subtract_refunds=subtract_refunds), overwrite=True
        )
        con.create_view("line_facts", line_facts(con), overwrite=True)
