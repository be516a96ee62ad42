"""The first-product view (docs/insight.md, "First products"): per product, product type or tag
of the first order, the customers, F2 rates, median days to the 2nd order, 12-month LTV and
what they bought second; and a segment made from any row.

For example ``first_products(context, "product_type").to_dict()`` or
``make_segment(context, "product", "1001", display_name="初回: 美容液")``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from segmentry.analytics.cohorts import valid_orders
from segmentry.analytics.first_products import (
    DIMENSIONS,
    WINDOWS,
    first_product_rows,
    second_purchases,
    segment_query,
)
from segmentry.analytics.journeys import display_name
from segmentry.app.context import current_day
from segmentry.app.segments import Segment, SegmentBook
from segmentry.engine import Scratch

if TYPE_CHECKING:
    from segmentry.core.context import Context, Progress

__all__ = ["CSV_COLUMNS", "FirstProductRow", "FirstProducts", "first_products",
           "first_products_csv", "make_segment"]

CSV_COLUMNS = ("value", "label", "customers",
               *(f"f2_rate_{n}d" for n in WINDOWS), *(f"f2_eligible_{n}d" for n in WINDOWS),
               "median_days_to_second", "ltv_12m", "ltv_customers", "query")
_CENT = Decimal("0.01")


@dataclass
class FirstProductRow:
    """One value of the first order (see :mod:`segmentry.analytics.first_products`)."""

    value: str
    label: str
    customers: int
    f2_rate: dict[int, float | None]
    f2_eligible: dict[int, int]
    median_days_to_second: float | None
    ltv_12m: Decimal | None
    ltv_customers: int
    query: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value, "label": self.label, "customers": self.customers,
            "f2_rate": {str(n): r for n, r in self.f2_rate.items()},
            "f2_eligible": {str(n): c for n, c in self.f2_eligible.items()},
            "median_days_to_second": self.median_days_to_second,
            "ltv_12m": None if self.ltv_12m is None else str(self.ltv_12m),
            "ltv_customers": self.ltv_customers, "query": self.query,
        }


@dataclass
class FirstProducts:
    """Every row of one dimension on ``day``, most customers first, and the second purchases
    ``(value, second_value, second_label, customers)``."""

    day: dt.date
    dimension: str
    rows: list[FirstProductRow]
    second: list[tuple[str, str, str, int]] = field(default_factory=list)

    def matrix(self, limit: int = 10) -> tuple[list[FirstProductRow], list[tuple[str, str]],
                                               list[list[int]]]:
        """The top ``limit`` first values (rows), the top ``limit`` second values
        (``(value, label)`` columns, most customers first) and the customers in each cell."""
        rows = self.rows[:limit]
        totals: dict[tuple[str, str], int] = {}
        for _, value, label, n in self.second:
            totals[(value, label)] = totals.get((value, label), 0) + n
        columns = sorted(totals, key=lambda k: (-totals[k], k[0]))[:limit]
        cells = {(v, s): n for v, s, _, n in self.second}
        return rows, columns, [[cells.get((r.value, c[0]), 0) for c in columns] for r in rows]

    def to_dict(self) -> dict[str, Any]:
        return {
            "day": self.day.isoformat(), "dimension": self.dimension,
            "rows": [r.to_dict() for r in self.rows],
            "second": [{"value": v, "second_value": s, "second_label": label, "customers": n}
                       for v, s, label, n in self.second],
        }


def first_products(context: Context, dimension: str = "product",
                   day: dt.date | None = None) -> FirstProducts:
    """The first-product rows of ``dimension`` (``product``, ``product_type`` or ``tag``) as
    of ``day`` (default: the current day)."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {tuple(DIMENSIONS)}, not {dimension!r}")
    day = day or current_day(context)
    con = context.warehouse
    if "order_facts" not in con.list_tables():
        return FirstProducts(day, dimension, [])
    # NOTE: the valid orders are read by every figure: materialised once, only the columns
    # the figures use (as the journeys panels do).
    with Scratch(con) as scratch:
        narrow = valid_orders(con, day).select(
            "customer_id", "order_id", "processed_on", "amount", "seq")
        orders = con.table(scratch.keep(narrow, prefix="_first_products"))
        found = con.to_pyarrow(first_product_rows(con, orders, day, dimension)).to_pylist()
        pairs = con.to_pyarrow(second_purchases(con, orders, dimension)).to_pylist()
    rows = sorted((_row(r, dimension) for r in found), key=lambda r: (-r.customers, r.value))
    second = sorted(
        ((str(p["value"]), str(p["second_value"]),
          _label(dimension, str(p["second_value"]), p["second_label"]), int(p["customers"]))
         for p in pairs),
        key=lambda p: (p[0], -p[3], p[1]),
    )
    return FirstProducts(day, dimension, rows, second)


def _row(r: dict[str, Any], dimension: str) -> FirstProductRow:
    eligible = {n: int(r[f"eligible_{n}"] or 0) for n in WINDOWS}
    rates = {n: (round(int(r[f"f2_{n}"] or 0) / eligible[n], 4) if eligible[n] else None)
             for n in WINDOWS}
    median = r["median_days_to_second"]
    ltv_customers = int(r["ltv_customers"] or 0)
    ltv = (Decimal(r["ltv_total"] or 0) / ltv_customers).quantize(_CENT) if ltv_customers \
        else None
    value = str(r["value"])
    return FirstProductRow(
        value=value, label=_label(dimension, value, r["label"]), customers=int(r["customers"]),
        f2_rate=rates, f2_eligible=eligible,
        median_days_to_second=None if median is None else float(median),
        ltv_12m=ltv, ltv_customers=ltv_customers, query=segment_query(dimension, value),
    )


def _label(dimension: str, value: str, label: str | None) -> str:
    """How a row reads: a product's title, a product type's display name (``gift_set`` reads
    "Gift set"), a tag as it is."""
    if dimension == "product_type":
        return display_name(value)
    return str(label or value)


def first_products_csv(result: FirstProducts) -> str:
    """One line per row (:data:`CSV_COLUMNS`, English keys)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in result.rows:
        writer.writerow([
            r.value, r.label, r.customers,
            *("" if r.f2_rate[n] is None else r.f2_rate[n] for n in WINDOWS),
            *(r.f2_eligible[n] for n in WINDOWS),
            "" if r.median_days_to_second is None else r.median_days_to_second,
            "" if r.ltv_12m is None else r.ltv_12m, r.ltv_customers, r.query,
        ])
    return out.getvalue()


def make_segment(context: Context, dimension: str, value: str, *,
                 display_name: str | None = None, progress: Progress | None = None) -> Segment:
    """Add a segment whose members are the customers of a row (:func:`segment_query`); its
    history is computed at once, as any new segment's."""
    query = segment_query(dimension, value)
    return SegmentBook(context).add(
        None, query, f"First order: {dimension} {value}", progress,
        display_name=display_name or f"First order: {value}",
    )
