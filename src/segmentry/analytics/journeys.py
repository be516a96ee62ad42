"""Journeys: what a segment's members bought on their 1st and 2nd order, where from, and how
long they took to come back.

Every panel is an Ibis expression over the fact tables (:mod:`segmentry.analytics.facts`), so it
runs on
any engine. Positions are *as of* the day asked about (an order cancelled later still counted
then), the same rule segment evaluation uses (:func:`segmentry.analytics.asof.orders_as_of`);
on the current day they equal ``order_facts.seq``.

Counts are customers, not orders or units: "3 of the 12 members who placed a 2nd order bought
the Vitamin C Serum in it". A share is that count over the members who placed that order.

>>> [b.label for b in GAP_BUCKETS][:3]
['0-7', '8-14', '15-30']
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from segmentry.analytics.asof import orders_as_of
from segmentry.engine import Scratch

__all__ = [
    "DIMENSIONS",
    "GAP_BUCKETS",
    "GapBucket",
    "Journey",
    "Share",
    "days_to_second_order",
    "display_name",
    "early_orders",
    "gap_histogram",
    "journey",
    "top_in_nth_order",
]


@dataclass(frozen=True)
class GapBucket:
    """Days from the 1st to the 2nd order, ``low <= days <= high`` (``high`` None: no limit)."""

    low: int
    high: int | None

    @property
    def label(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"


# Buckets a CRM manager thinks in: the first week, the first month, each quarter, after a year.
GAP_BUCKETS: tuple[GapBucket, ...] = (
    GapBucket(0, 7),
    GapBucket(8, 14),
    GapBucket(15, 30),
    GapBucket(31, 60),
    GapBucket(61, 90),
    GapBucket(91, 180),
    GapBucket(181, 365),
    GapBucket(366, None),
)

# Panel name → (fact table the value lives in, column).
DIMENSIONS: dict[str, tuple[str, str]] = {
    "products": ("lines", "title"),
    "product_types": ("lines", "product_type"),
    "product_lines": ("lines", "product_line"),
    "channels": ("orders", "channel"),
}


@dataclass(frozen=True)
class Share:
    """One row of a top-N panel: ``value`` as the ledger has it (what a query names), and
    ``label``, how a person reads it (a product type ``gift_set`` reads "Gift set")."""

    value: str
    customers: int
    share: float
    label: str = ""


_SLUG = re.compile(r"[a-z0-9]+(?:[_-][a-z0-9]+)*")


def display_name(value: str) -> str:
    """How a product type (or line) written as a slug reads: words, the first capitalised.
    Names a store already spells out (``Serum``, ``美容液``) are kept as they are.

    >>> display_name("gift_set"), display_name("hair-oil"), display_name("Body Lotion")
    ('Gift set', 'Hair oil', 'Body Lotion')
    """
    if not _SLUG.fullmatch(value):
        return value
    words = re.split(r"[_-]", value)
    return " ".join([words[0].capitalize(), *words[1:]])


@dataclass
class Journey:
    """Every journey panel of one member set on one day (see :func:`journey`)."""

    day: dt.date
    members: int
    with_order: dict[int, int] = field(default_factory=dict)  # n → members with an n-th order
    panels: dict[int, dict[str, list[Share]]] = field(default_factory=dict)
    gaps: list[tuple[str, int]] = field(default_factory=list)
    median_gap: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "day": self.day.isoformat(),
            "members": self.members,
            "orders": {
                str(n): {
                    "customers": self.with_order.get(n, 0),
                    **{
                        name: [s.__dict__ for s in rows]
                        for name, rows in self.panels.get(n, {}).items()
                    },
                }
                for n in sorted(self.with_order)
            },
            "days_to_second_order": {
                "buckets": [{"days": label, "customers": c} for label, c in self.gaps],
                "median": self.median_gap,
            },
        }


def early_orders(con: BaseBackend, members: ir.Table, day: dt.date) -> ir.Table:
    """``(customer_id, order_id, processed_on, channel, seq)``: each member's 1st and 2nd order
    as of the end of ``day`` (``seq`` 1 or 2; members without orders are absent)."""
    points = members.select("customer_id").distinct().mutate(day=ibis.date(day))
    orders = orders_as_of(con.table("order_facts"), points)
    early = orders.filter(orders.seq <= 2)
    return early.select("customer_id", "order_id", "processed_on", "channel", "seq")


def top_in_nth_order(
    con: BaseBackend, orders: ir.Table, n: int, dimension: str, limit: int = 10
) -> ir.Table:
    """``(value, customers)``: the most common values of ``dimension`` (see
    :data:`DIMENSIONS`) in the ``n``-th orders of :func:`early_orders`, most customers first.

    A customer counts once per value however many lines or units carried it.
    """
    source, column = DIMENSIONS[dimension]
    nth = orders.filter(orders.seq == n)
    if source == "lines":
        lines = con.table("line_facts").select("order_id", column)
        rows = nth.select("customer_id", "order_id").join(lines, "order_id")
    else:
        rows = nth
    rows = rows.select("customer_id", value=rows[column].cast("string").fill_null("(none)"))
    counted = rows.group_by("value").aggregate(customers=rows.customer_id.nunique())
    return counted.order_by([ibis.desc("customers"), "value"]).limit(limit)


def days_to_second_order(orders: ir.Table) -> ir.Table:
    """``(customer_id, days)``: days from the 1st to the 2nd order in :func:`early_orders`."""
    first = orders.filter(orders.seq == 1).select("customer_id", first_on="processed_on")
    second = orders.filter(orders.seq == 2).select("customer_id", second_on="processed_on")
    pair = first.join(second, "customer_id")
    return pair.select(
        "customer_id", days=pair.second_on.epoch_days() - pair.first_on.epoch_days()
    )


def gap_histogram(orders: ir.Table) -> ir.Table:
    """``(bucket, customers)``: :func:`days_to_second_order` counted in :data:`GAP_BUCKETS`
    (``bucket`` is the index into it; empty buckets are absent)."""
    gaps = days_to_second_order(orders)
    bucket: Any = ibis.literal(len(GAP_BUCKETS) - 1)
    for index, b in reversed(list(enumerate(GAP_BUCKETS))):
        if b.high is not None:
            bucket = ibis.ifelse(gaps.days <= b.high, index, bucket)
    rows = gaps.select(bucket=bucket)
    return rows.group_by("bucket").aggregate(customers=rows.count())


def journey(
    con: BaseBackend,
    members: ir.Table,
    day: dt.date,
    *,
    limit: int = 10,
    dimensions: tuple[str, ...] = ("products", "product_types", "channels"),
) -> Journey:
    """Run every panel for ``members`` (a table with ``customer_id``) on ``day``.

    The members' first two orders are materialised once (a temporary table) and every panel
    reads them: for example ``journey(con, members_as_of(con, key, day), day).to_dict()``.
    """
    result = Journey(day=day, members=int(con.execute(members.select("customer_id").count())))
    with Scratch(con) as scratch:
        orders = con.table(scratch.keep(early_orders(con, members, day), prefix="_journey"))
        counts = con.execute(orders.group_by("seq").aggregate(customers=orders.count()))
        result.with_order = {n: 0 for n in (1, 2)} | {
            int(r.seq): int(r.customers) for r in counts.itertuples()
        }
        # Every top-N panel in one query: the engine plans them together.
        tops = [
            top_in_nth_order(con, orders, n, dimension, limit).mutate(
                n=ibis.literal(n), dimension=ibis.literal(dimension)
            )
            for n in (1, 2)
            for dimension in dimensions
        ]
        frame = con.execute(ibis.union(*tops))
        for n in (1, 2):
            result.panels[n] = {}
            for dimension in dimensions:
                rows = frame[(frame["n"] == n) & (frame["dimension"] == dimension)]
                rows = rows.sort_values(["customers", "value"], ascending=[False, True])
                result.panels[n][dimension] = _shares(
                    rows, result.with_order[n], named=dimension in _NAMED
                )
        gaps = days_to_second_order(orders)
        buckets = {
            int(r.bucket): int(r.customers)
            for r in con.execute(gap_histogram(orders)).itertuples()
        }
        result.gaps = [(b.label, buckets.get(i, 0)) for i, b in enumerate(GAP_BUCKETS)]
        median = con.execute(gaps.days.median())
        result.median_gap = None if median is None or median != median else float(median)
    return result


# Panels whose values are slugs in many stores (the demo's ``gift_set``): shown by display name.
_NAMED = frozenset({"product_types", "product_lines"})


def _shares(rows: pd.DataFrame, whole: int, *, named: bool = False) -> list[Share]:
    return [
        Share(
            str(r.value), int(r.customers),
            round(int(r.customers) / whole, 4) if whole else 0.0,
            display_name(str(r.value)) if named else str(r.value),
        )
        for r in rows.itertuples()
    ]
