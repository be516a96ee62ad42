"""First-product analysis: what the product of a customer's first order leads to.

For every value of a dimension of the first order's lines — a ``product`` (product id), a
``product_type`` or a product ``tag`` — over the customers whose first order valid at the end
of the day held it:

- ``customers``: how many.
- ``f2_rate[N]`` for N in :data:`WINDOWS` (30, 60, 90, 365 days): of those whose first order is
  at least N days before the day (so every one of them had N days to come back), the share whose
  2nd order came at most N days after the first. ``f2_eligible[N]`` is that denominator: a
  customer acquired last week does not lower the 90-day rate.
- ``median_days_to_second``: the median of days from the 1st to the 2nd order, over those with
  a 2nd order.
- ``ltv_12m``: over customers whose first order is at least 365 days before the day, the mean
  amount (docs/metrics.md: net of refunds made by the day when refunds are subtracted) of
  their orders placed at most 365 days after the first, the first included.
- what they bought second: :func:`second_purchases`, the customers per (first value, second
  value) — the product → product and type → type matrices.

A first order holding two products counts its customer in both rows. Lines without a product id
are in no ``product`` row; a line without a type is in the ``(none)`` type.

Each row is exactly the customers of a segment query (:func:`segment_query`):
``products_purchased MATCHES (id = '1001', order_number = 1)``.

>>> segment_query("product_type", "美容液")
"products_purchased MATCHES (product_type = '美容液', order_number = 1)"
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.cohorts import NONE
from segmentry.language.printer import quote

__all__ = [
    "DIMENSIONS",
    "WINDOWS",
    "customer_journeys",
    "first_product_rows",
    "first_values",
    "second_purchases",
    "segment_query",
]

WINDOWS: tuple[int, ...] = (30, 60, 90, 365)
# Dimension → the argument of ``products_purchased`` that selects it.
DIMENSIONS: dict[str, str] = {"product": "id", "product_type": "product_type", "tag": "tag"}
LTV_DAYS = 365


def segment_query(dimension: str, value: str) -> str:
    """The segment query whose members are the customers of a row: their first order held a
    line with that ``value`` of ``dimension``."""
    argument = DIMENSIONS[dimension]
    return f"products_purchased MATCHES ({argument} = {quote(value)}, order_number = 1)"


def _values_of(con: BaseBackend, orders: ir.Table, dimension: str, position: int
               ) -> ir.Table:
    """``(customer_id, value, label)``: the values of ``dimension`` in the lines of
    ``orders`` (each customer's order at ``position``), each customer once per value."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {tuple(DIMENSIONS)}, not {dimension!r}")
    # NOTE: order_line_facts, not the line_facts view: no join to the products needed. The
    # n-th order as of any day has a final position of at most n, or was cancelled since
    # (seq NULL): only those lines can join, and the join is the costly part.
    lines = con.table("order_line_facts")
    lines = lines.filter((lines.seq <= position) | lines.seq.isnull())
    lines = lines.select(
        l_order_id="order_id", product_id="product_id", title="title",
        product_type="product_type", product_tags="product_tags",
    )
    j = orders.select("customer_id", "order_id").join(
        lines, orders.order_id == lines.l_order_id
    )
    if dimension == "product":
        j = j.filter(j.product_id.notnull())
        rows = j.select("customer_id", value=j.product_id.cast("string"), label=j.title)
    elif dimension == "product_type":
        kind = j.product_type
        value = ibis.ifelse(kind.isnull() | (kind == ""), NONE, kind)
        rows = j.select("customer_id", value=value, label=value)
    else:
        tags = j.filter(j.product_tags.notnull()).select("customer_id", value=j.product_tags)
        rows = tags.select("customer_id", value=tags.value.unnest())
        rows = rows.mutate(label=rows.value)
    return rows.group_by(["customer_id", "value"]).aggregate(label=rows.label.max())


def first_values(con: BaseBackend, orders: ir.Table, dimension: str) -> ir.Table:
    """``(customer_id, value, label)`` of each customer's first order (``orders`` from
    :func:`segmentry.analytics.cohorts.valid_orders`)."""
    return _values_of(con, orders.filter(orders.seq == 1), dimension, 1)


def customer_journeys(orders: ir.Table) -> ir.Table:
    """``(customer_id, first_on, gap, ltv_12m)``: the first order's day, days to the 2nd order
    (NULL without one) and the amount of the orders placed at most 365 days after the first."""
    first = orders.filter(orders.seq == 1).select("customer_id", first_on="processed_on")
    j = orders.join(first, "customer_id")
    days = j.processed_on.epoch_days() - j.first_on.epoch_days()
    per = j.group_by(["customer_id", "first_on"]).aggregate(
        gap=days.min(where=j.seq == 2),
        ltv_12m=j.amount.sum(where=days <= LTV_DAYS),
    )
    return per


def first_product_rows(
    con: BaseBackend, orders: ir.Table, day: dt.date, dimension: str
) -> ir.Table:
    """One row per value of ``dimension``: ``value``, ``label``, ``customers``,
    ``f2_<N>`` and ``eligible_<N>`` for each of :data:`WINDOWS`, ``median_days_to_second``,
    ``ltv_12m`` and ``ltv_customers`` (see the module's docstring)."""
    values = first_values(con, orders, dimension)
    j = values.join(customer_journeys(orders), "customer_id")
    end = ibis.date(day)
    aggregates: dict[str, ir.Value] = {
        "label": j.label.max(), "customers": j.count(),
    }
    for n in WINDOWS:
        eligible = j.first_on <= end - ibis.interval(days=n)
        aggregates[f"eligible_{n}"] = eligible.sum()
        aggregates[f"f2_{n}"] = (eligible & j.gap.notnull() & (j.gap <= n)).sum()
    long_ago = j.first_on <= end - ibis.interval(days=LTV_DAYS)
    aggregates["median_days_to_second"] = j.gap.median(where=j.gap.notnull())
    aggregates["ltv_total"] = j.ltv_12m.sum(where=long_ago)
    aggregates["ltv_customers"] = long_ago.sum()
    return j.group_by("value").aggregate(**aggregates)


def second_purchases(con: BaseBackend, orders: ir.Table, dimension: str) -> ir.Table:
    """``(value, second_value, second_label, customers)``: customers whose first order held
    ``value`` and whose 2nd order held ``second_value`` (a customer counts once per pair)."""
    firsts = first_values(con, orders, dimension).select("customer_id", "value")
    seconds = _values_of(con, orders.filter(orders.seq == 2), dimension, 2)
    seconds = seconds.select(
        s_customer_id="customer_id", second_value="value", second_label="label"
    )
    j = firsts.join(seconds, firsts.customer_id == seconds.s_customer_id)
    return j.group_by(["value", "second_value"]).aggregate(
        second_label=j.second_label.max(), customers=j.count()
    )

