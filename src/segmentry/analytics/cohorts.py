"""Monthly acquisition cohorts: retention and cumulative revenue per customer, month by month.

A customer's **cohort** is the calendar month (shop time zone: ``processed_on`` is already the
shop's day) of their first order valid at the end of the day asked about. **Month k** is the
k-th calendar month after it; **month 0** is the acquisition month itself, so its retention is
100 % by definition and its revenue is every order placed in that month, the first included.

- ``retention`` at month k: customers of the cohort with at least one order in month k ÷ the
  cohort's customers.
- ``revenue_per_customer`` at month k: the amount of all their orders in months 0 … k ÷ the
  cohort's customers (cumulative). An order's amount is the one docs/metrics.md defines
  (``order_facts.amount``: total less refunds made by the day when refunds are subtracted), so
  a cohort's revenue adds up to the store's.

A split (``by``) puts each customer in the group of their first order: its ``channel``, a
``product_type`` of its lines or a ``discount_code`` used on it. A first order holding two
product types (or codes) puts the customer in both groups; one without any is in ``(none)``.

Every figure comes from one Ibis expression (:func:`cohort_activity`; a cohort's size is its
month-0 activity), so it runs on any engine; :func:`cohort_table` assembles it, with exact
decimals, into rows.

>>> month_index(dt.date(2024, 3, 9)), month_label(24290)
(24290, '2024-03')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.asof import Facts, orders_as_of

__all__ = [
    "BY",
    "NONE",
    "By",
    "Cohort",
    "CohortTable",
    "cohort_activity",
    "cohort_groups",
    "cohort_table",
    "first_orders",
    "month_index",
    "month_label",
    "valid_orders",
]

By = Literal["channel", "product_type", "discount_code"]
BY: tuple[str, ...] = ("channel", "product_type", "discount_code")
# The group of a first order without a value (no discount code, a line without a type).
NONE = "(none)"
# The group name when the cohorts are not split.
ALL = "all"


def month_index(day: dt.date) -> int:
    """Months since year 0: ``year * 12 + month - 1`` (what the expressions compute)."""
    return day.year * 12 + day.month - 1


def month_label(index: int) -> str:
    """``YYYY-MM`` of a :func:`month_index`."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _month(day: ir.DateValue) -> ir.IntegerValue:
    return (day.year() * 12 + day.month() - 1).cast("int64")


def valid_orders(con: BaseBackend, day: dt.date, members: ir.Table | None = None) -> ir.Table:
    """The orders valid at the end of ``day`` with their as-of positions (``seq``) and amounts
    (:func:`segmentry.analytics.asof.orders_as_of`), of ``members`` only when given (a table
    with ``customer_id``)."""
    facts = Facts.of(con)
    orders = orders_as_of(facts.orders, day, settled=facts.settled, refunds=facts.refunds)
    orders = orders.filter(orders.processed_on <= ibis.date(day))
    if members is not None:
        orders = orders.semi_join(members.select("customer_id").distinct(), "customer_id")
    return orders


def first_orders(orders: ir.Table) -> ir.Table:
    """``(customer_id, first_order_id, first_on, cohort, channel, discount_codes)``: each
    customer's first order among ``orders`` (:func:`valid_orders`); ``cohort`` is its
    :func:`month_index`."""
    first = orders.filter(orders.seq == 1)
    return first.select(
        "customer_id", "channel", "discount_codes", first_order_id=first.order_id,
        first_on=first.processed_on, cohort=_month(first.processed_on),
    )


def cohort_groups(con: BaseBackend, firsts: ir.Table, by: str | None) -> ir.Table:
    """``(customer_id, cohort, group)``: the group(s) each customer's first order puts them in
    (see the module's docstring); ``by`` None: one group, ``all``."""
    if by is None:
        return firsts.select("customer_id", "cohort", group=ibis.literal(ALL))
    if by == "channel":
        return firsts.select("customer_id", "cohort", group=firsts.channel.fill_null(NONE))
    if by == "discount_code":
        codes = firsts.discount_codes
        some = codes.notnull() & (codes.length() > 0)
        listed = ibis.ifelse(some, codes, ibis.literal([NONE], type="array<string>"))
        rows = firsts.select("customer_id", "cohort", group=listed.unnest())
        return rows.distinct()
    if by == "product_type":
        # NOTE: order_line_facts, not the line_facts view: no join to the products needed.
        lines = con.table("order_line_facts")
        # NOTE: a first order as of any day is the final first order (seq 1) or one cancelled
        # since (seq NULL): only those lines can join, and the join is the costly part.
        lines = lines.filter((lines.seq == 1) | lines.seq.isnull()).select(
            first_order_id="order_id", product_type="product_type"
        )
        j = firsts.select("customer_id", "cohort", "first_order_id").join(lines, "first_order_id")
        kind = j.product_type
        group = ibis.ifelse(kind.isnull() | (kind == ""), NONE, kind)
        return j.select("customer_id", "cohort", group=group).distinct()
    raise ValueError(f"by must be one of {BY} or None, not {by!r}")


def cohort_activity(orders: ir.Table, groups: ir.Table) -> ir.Table:
    """``(group, cohort, month, active, revenue)``: per group, cohort and month k, the
    customers with an order in month k and the amount of those orders (months without any
    order are absent)."""
    monthly = orders.select("customer_id", at=_month(orders.processed_on), amount=orders.amount)
    per_customer = monthly.group_by(["customer_id", "at"]).aggregate(
        revenue=monthly.amount.sum()
    )
    j = groups.join(per_customer, "customer_id")
    rows = j.select("group", "cohort", "revenue", month=(j.at - j.cohort).cast("int64"))
    return rows.group_by(["group", "cohort", "month"]).aggregate(
        active=rows.count(), revenue=rows.revenue.sum()
    )


@dataclass
class Cohort:
    """One cohort of one group: month k's retention and cumulative revenue per customer, for
    k = 0 … the months the day has seen (the last may be a month under way)."""

    group: str
    cohort: str  # YYYY-MM
    customers: int
    active: list[int] = field(default_factory=list)
    retention: list[float] = field(default_factory=list)
    revenue: list[Decimal] = field(default_factory=list)  # cumulative, the whole cohort
    revenue_per_customer: list[Decimal] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group, "cohort": self.cohort, "customers": self.customers,
            "active": self.active, "retention": self.retention,
            "revenue": [str(v) for v in self.revenue],
            "revenue_per_customer": [str(v) for v in self.revenue_per_customer],
        }


@dataclass
class CohortTable:
    """Every cohort on ``day`` (see :func:`cohort_table`)."""

    day: dt.date
    by: str | None
    cohorts: list[Cohort]

    @property
    def groups(self) -> list[str]:
        return sorted({c.group for c in self.cohorts})

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "by": self.by, "groups": self.groups,
                "cohorts": [c.to_dict() for c in self.cohorts]}


_CENT = Decimal("0.01")


def cohort_table(
    con: BaseBackend, day: dt.date, *, members: ir.Table | None = None, by: str | None = None,
    months: int | None = None,
) -> CohortTable:
    """The cohorts of every customer with an order valid at the end of ``day`` (of ``members``
    only when given), split ``by`` a field of the first order, months 0 … ``months`` at most.

    For example ``cohort_table(con, dt.date(2024, 5, 31), by="channel")``.
    """
    if by is not None and by not in BY:
        raise ValueError(f"by must be one of {BY} or None, not {by!r}")
    if "order_facts" not in con.list_tables():
        return CohortTable(day, by, [])
    orders = valid_orders(con, day, members)
    groups = cohort_groups(con, first_orders(orders), by)
    # NOTE: every customer orders in their month 0, so a cohort's size is its month-0 activity:
    # one query, not a second pass over the orders.
    activity = con.to_pyarrow(cohort_activity(orders, groups)).to_pylist()
    cells: dict[tuple[str, int], dict[int, tuple[int, Decimal]]] = {}
    for row in activity:
        key = (row["group"], int(row["cohort"]))
        cells.setdefault(key, {})[int(row["month"])] = (int(row["active"]),
                                                         Decimal(row["revenue"] or 0))
    now = month_index(day)
    cohorts = []
    for key in sorted(cells):
        seen = now - key[1]
        if months is not None:
            seen = min(seen, months)
        cohorts.append(_cohort(key, cells[key][0][0], cells[key], seen))
    return CohortTable(day, by, cohorts)


def _cohort(key: tuple[str, int], customers: int, cells: dict[int, tuple[int, Decimal]],
            seen: int) -> Cohort:
    c = Cohort(key[0], month_label(key[1]), customers)
    total = Decimal(0)
    for k in range(seen + 1):
        active, revenue = cells.get(k, (0, Decimal(0)))
        total += revenue
        c.active.append(active)
        c.retention.append(round(active / customers, 4))
        c.revenue.append(total.quantize(_CENT))
        c.revenue_per_customer.append((total / customers).quantize(_CENT))
    return c
