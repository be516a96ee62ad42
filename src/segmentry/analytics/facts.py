"""Derived facts: the ledger reshaped for segment evaluation, journeys and metrics.

- ``order_facts``: one row per order with a customer; ``amount`` is what the order is worth
  (``total - refunded`` when refunds are subtracted, else ``total``); ``seq`` is the order's
  position among the customer's orders that were never cancelled (1 = first order), NULL for
  cancelled orders. As-of evaluation recomputes positions for past days (see
  :mod:`segmentry.analytics.asof`), because an order cancelled later still counted before.
- ``order_line_facts``: one row per line of those orders, carrying its order's customer,
  days, position and fields, so that conditions on lines read no join to the orders;
  ``line_facts`` is a view adding the product's ``product_line``.
- ``undated_customers``: the customers without a creation date (Shopify's customers export
  has none) and ``counts_from``, the day they count from: their first order's day, or, with
  no orders, the store's first day (:func:`store_started_on`). Rebuilt on every build (it
  reads only those customers' orders), absent when every customer has a creation date;
  :mod:`segmentry.analytics.asof` applies it.
- ``refund_facts``: one row per dated refund of an order with a customer (``refunded_on``,
  ``amount``), kept only when refunds are subtracted; as of a day before a refund, the
  refund is added back to its order's ``amount`` (:func:`segmentry.analytics.asof.orders_as_of`).
  Small (refunds are a few percent of orders): rebuilt whole on every build.
- ``facts_state``: one row: the refunds setting the facts were built with, and
  ``settled_on``, the last day on which any order was processed, cancelled or refunded. From
  that day on, the orders valid at a day's end are exactly the never-cancelled ones, with
  their final positions and amounts, so evaluating as of such a day needs no as-of
  reconstruction.

:func:`build_facts` keeps them a pure function of the ledger. The ledger writer queues every
customer whose orders it changed in ``stale_customers`` (see :mod:`segmentry.ledger.store`);
only their rows are rebuilt, unless the queue asks for everything (first load, a shop's data
erased, the first lines), covers a large share of the customers, or the refunds setting
changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.engine import Scratch, delete_listed, execute, transaction
from segmentry.ledger.schema import MONEY
from segmentry.ledger.store import STALE_CUSTOMERS, ensure_ledger

__all__ = [
    "FACT_TABLES",
    "REFUND_FACTS",
    "UNDATED_CUSTOMERS",
    "build_facts",
    "line_facts",
    "order_facts",
    "order_line_facts",
    "refund_facts",
    "refund_table",
    "settled_on",
    "store_started_on",
    "undated_customers",
    "undated_table",
]

UNDATED_CUSTOMERS = "undated_customers"
REFUND_FACTS = "refund_facts"
FACT_TABLES = ("order_facts", "order_line_facts", "line_facts", UNDATED_CUSTOMERS, REFUND_FACTS,
               "facts_state")
_STATE = "facts_state"
# Above this share of all customers queued (and this many), rebuilding everything is cheaper
# than patching.
_FULL_REBUILD_SHARE, _FULL_REBUILD_MIN = 0.2, 10_000


def order_facts(
    con: BaseBackend, *, subtract_refunds: bool, only: ir.Table | None = None
) -> ibis.Table:
    """The ``order_facts`` expression over the ledger's ``orders`` table.

    ``only``: a ``(shop_id, customer_id)`` table; just those customers' orders.
    """
    o = con.table("orders")
    o = o.filter(o.customer_id.notnull())
    if only is not None:
        o = o.semi_join(only, ["shop_id", "customer_id"])
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
        location_id=o.location_id,
        app_id=o.app_id,
    )


# The order's fields each line carries in ``order_line_facts``.
_ORDER_FIELDS = ("customer_id", "processed_on", "cancelled_on", "seq", "channel", "utm_source",
                 "utm_medium", "utm_campaign", "source_name", "discount_codes", "order_tags",
                 "is_subscription", "total", "location_id", "app_id")


def order_line_facts(con: BaseBackend, orders: ir.Table) -> ibis.Table:
    """The ``order_line_facts`` expression: the lines of ``orders`` (``order_facts`` rows),
    each with its order's fields, so conditions on lines need no join to the orders."""
    lines = con.table("order_lines").select(
        "shop_id",
        "order_id",
        "line_id",
        "product_id",
        "variant_id",
        "sku",
        "title",
        "product_type",
        "vendor",
        "product_tags",
        quantity=ibis._.quantity.fill_null(0),
        line_total=ibis._.total,
    )
    o = orders.select("shop_id", "order_id", *_ORDER_FIELDS)
    return lines.join(o, ["shop_id", "order_id"])


def line_facts(con: BaseBackend) -> ibis.Table:
    """The ``line_facts`` expression: ``order_line_facts`` with the product's product line
    (a view: products change, and their table is small)."""
    lines, products = con.table("order_line_facts"), con.table("products")
    p = products.select("shop_id", "product_id", "product_line", "category_id", "category_name")
    joined = lines.left_join(p, ["shop_id", "product_id"])
    return joined.drop(*(c for c in joined.columns if c.endswith("_right")))


def build_facts(con: BaseBackend, *, subtract_refunds: bool) -> str:
    """Bring the order and line facts up to date with the ledger, atomically.

    Returns what was done, in words (``"rebuilt"`` or ``"updated N customer(s), M order(s)"``).
    """
    ensure_ledger(con)
    # NOTE: workspaces made before line_facts became a view hold it as a table. Dropping a
    # view as a table fails (harmlessly, outside the transaction): that is the usual case.
    with contextlib.suppress(Exception):
        con.drop_table("line_facts", force=True)
    with transaction(con):
        # The view is made again below; PostgreSQL refuses to replace a table a view reads.
        con.drop_view("line_facts", force=True)
        stale = con.table(STALE_CUSTOMERS)
        settled: dt.date | None
        if _needs_full_rebuild(con, stale, subtract_refunds):
            con.create_table(
                "order_facts", order_facts(con, subtract_refunds=subtract_refunds), overwrite=True
            )
            con.create_table(
                "order_line_facts",
                order_line_facts(con, con.table("order_facts")),
                overwrite=True,
            )
            settled, done = _last_event_day(con, con.table("order_facts")), "rebuilt"
        else:
            settled, done = _update_queued(con, stale, subtract_refunds)
        execute(con, sge.delete(sg.table(STALE_CUSTOMERS, quoted=True)))
        settled = _later(settled, _write_refunds(con, subtract_refunds))
        _write_undated(con)
        _write_state(con, subtract_refunds, settled)
        con.create_view("line_facts", line_facts(con), overwrite=True)
    return done


def store_started_on(con: BaseBackend) -> dt.date | None:
    """The store's first day: the earliest order or customer creation in the ledger."""
    firsts = (con.table("orders").processed_on.min(), con.table("customers").created_on.min())
    days = [con.to_pyarrow(first).as_py() for first in firsts]
    return min((d for d in days if d is not None), default=None)


# The day undated customers without orders count from in a store with no dated event at all.
_BEFORE_ALL = dt.date(1900, 1, 1)


def undated_customers(con: BaseBackend, started_on: dt.date | None) -> ir.Table:
    """``(shop_id, customer_id, counts_from)`` of the customers without a creation date.

    ``counts_from`` is the day of their first order, cancelled or not (they existed when they
    placed it), or, with no orders, ``started_on`` (:func:`store_started_on`); a store where
    nothing has a date yet counts them on every day. Reads ``order_facts``.
    """
    keys = ["shop_id", "customer_id"]
    c, o = con.table("customers"), con.table("order_facts")
    undated = c.filter(c.created_on.isnull()).select(*keys)
    theirs = o.select(*keys, "processed_on").join(undated, keys)
    first = theirs.group_by(keys).aggregate(first_on=theirs.processed_on.min())
    j = undated.left_join(first, keys)
    fallback = ibis.date(started_on or _BEFORE_ALL)
    return j.select(
        undated.shop_id,
        undated.customer_id,
        counts_from=ibis.coalesce(j.first_on, fallback).cast("date"),
    )


def undated_table(con: BaseBackend) -> ir.Table | None:
    """The ``undated_customers`` table, or None when every customer has a creation date (as
    of the last facts build, which keeps the table only when it has rows)."""
    if UNDATED_CUSTOMERS not in con.list_tables():
        return None
    return con.table(UNDATED_CUSTOMERS)


def _write_undated(con: BaseBackend) -> None:
    """Rebuild ``undated_customers``; drop it when every customer has a creation date.

    NOTE: the usual store has none, so a one-column check keeps the daily build from reading
    the order facts for nothing.
    """
    created = con.table("customers").created_on
    if con.to_pyarrow(created.isnull().any()).as_py():
        started = store_started_on(con)
        con.create_table(UNDATED_CUSTOMERS, undated_customers(con, started), overwrite=True)
    else:
        con.drop_table(UNDATED_CUSTOMERS, force=True)


def settled_on(con: BaseBackend) -> dt.date | None:
    """The last day any order was processed or cancelled, as of the last facts build.

    Never earlier than the truth (an incremental build only moves it forward), so a day on or
    after it is safe to evaluate on the final facts. ``None``: unknown (facts never built).
    """
    if _STATE not in con.list_tables():
        return None
    rows = con.to_pyarrow(con.table(_STATE)).to_pylist()
    return rows[0]["settled_on"] if rows else None


def refund_facts(con: BaseBackend) -> ir.Table:
    """The ``refund_facts`` expression: ``(shop_id, customer_id, order_id, refunded_on,
    amount)`` of every dated refund of an order with a customer."""
    r, o = con.table("refunds"), con.table("orders")
    r = r.filter(r.created_on.notnull() & r.amount.notnull())
    o = o.filter(o.customer_id.notnull()).select("shop_id", "order_id", "customer_id")
    j = r.join(o, ["shop_id", "order_id"])
    return j.select("shop_id", "customer_id", "order_id", refunded_on=j.created_on,
                    amount=j.amount)


def refund_table(con: BaseBackend) -> ir.Table | None:
    """The ``refund_facts`` table, or None when refunds are not subtracted or none has a
    date (as of the last facts build, which keeps the table only when it has rows)."""
    if REFUND_FACTS not in con.list_tables():
        return None
    return con.table(REFUND_FACTS)


def _write_refunds(con: BaseBackend, subtract_refunds: bool) -> dt.date | None:
    """Rebuild ``refund_facts`` (dropped when refunds are not subtracted or there are none);
    returns the last refund day."""
    if subtract_refunds and con.to_pyarrow(con.table("refunds").count()).as_py():
        table = con.create_table(REFUND_FACTS, refund_facts(con), overwrite=True)
        last: Any = con.to_pyarrow(table.refunded_on.max()).as_py()
        if last is not None:
            return last
    con.drop_table(REFUND_FACTS, force=True)
    return None


def _needs_full_rebuild(con: BaseBackend, stale: ir.Table, subtract_refunds: bool) -> bool:
    existing = set(con.list_tables())
    if not {"order_facts", "order_line_facts", _STATE} <= existing:
        return True
    # Facts built by an earlier segmentry lack the columns added since: rebuild them once.
    wanted = order_facts(con, subtract_refunds=subtract_refunds).columns
    if tuple(con.table("order_facts").columns) != tuple(wanted):
        return True
    lines = order_line_facts(con, con.table("order_facts")).columns
    if tuple(con.table("order_line_facts").columns) != tuple(lines):
        return True
    state = con.to_pyarrow(con.table(_STATE)).to_pylist()
    if not state or state[0]["subtract_refunds"] != subtract_refunds:
        return True
    counts = stale.aggregate(
        everything=stale.customer_id.isnull().any(), queued=stale.customer_id.nunique()
    )
    row = con.to_pyarrow(counts).to_pylist()[0]
    if row["everything"]:
        return True
    queued = int(row["queued"] or 0)
    if queued <= _FULL_REBUILD_MIN:
        return False
    customers = int(con.to_pyarrow(con.table("customers").count()).as_py())
    return queued > _FULL_REBUILD_SHARE * customers


def _update_queued(
    con: BaseBackend, stale: ir.Table, subtract_refunds: bool
) -> tuple[dt.date | None, str]:
    """Recompute the queued customers' order facts; write only the orders that changed.

    A day's new orders usually leave a customer's earlier orders as they were (positions
    only move when an order is cancelled or arrives late), so the rows that differ from the
    stored ones, and the lines of those orders (or of orders whose lines were replaced), are
    all that is deleted and written again.
    """
    customers, orders = ["shop_id", "customer_id"], ["shop_id", "order_id"]
    queued = stale.select(*customers).distinct()
    count = int(con.to_pyarrow(queued.count()).as_py())
    with Scratch(con) as scratch:
        fresh = con.table(
            scratch.keep(order_facts(con, subtract_refunds=subtract_refunds, only=queued))
        )
        stored = con.table("order_facts").semi_join(queued, customers)
        new_rows = con.table(scratch.keep(fresh.difference(stored)))
        differ = ibis.union(new_rows.select(*orders), stored.difference(fresh).select(*orders))
        changed = scratch.keep(differ.distinct())
        execute(con, delete_listed("order_facts", changed, orders))
        relined = stale.filter(stale.order_id.notnull()).select(*orders)
        lines_changed = scratch.keep(ibis.union(con.table(changed), relined).distinct())
        execute(con, delete_listed("order_line_facts", lines_changed, orders))
        con.insert("order_facts", new_rows)
        rewritten = con.table("order_facts").semi_join(con.table(lines_changed), orders)
        con.insert("order_line_facts", order_line_facts(con, rewritten))
        settled = _later(settled_on(con), _last_event_day(con, new_rows))
        written = int(con.to_pyarrow(con.table(lines_changed).count()).as_py())
    return settled, f"updated {count:,} customer(s), {written:,} order(s)"


def _last_event_day(con: BaseBackend, facts: ir.Table) -> dt.date | None:
    last = ibis.greatest(facts.processed_on, facts.cancelled_on.fill_null(facts.processed_on))
    value: Any = con.to_pyarrow(last.max()).as_py()
    return value


def _later(a: dt.date | None, b: dt.date | None) -> dt.date | None:
    return max((d for d in (a, b) if d is not None), default=None)


def _write_state(con: BaseBackend, subtract_refunds: bool, settled: dt.date | None) -> None:
    state = pa.table(
        {
            "subtract_refunds": pa.array([subtract_refunds], pa.bool_()),
            "settled_on": pa.array([settled], pa.date32()),
        }
    )
    con.create_table(_STATE, state, overwrite=True)
