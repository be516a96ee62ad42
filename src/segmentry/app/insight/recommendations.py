"""Recommendations for the edges (CLI, web, Python): refresh the stored table, look up one
customer, the top product pairs, and the offline evaluation (docs/insight.md,
"Recommendations"; the method in :mod:`segmentry.analytics.recommendations`).

The table (``customer_recommendations`` in the warehouse) is refreshed **on demand**:
``segmentry insight recommendations refresh``, the page's button, or :meth:`refresh` in
Python. Sends read what is stored; a send before the first refresh gets an empty list.

In Python::

    r = RecommendationService(workspace)
    r.refresh()                       # a RefreshReport
    r.for_customer("1042")            # [Product(title=..., price=..., reason="next"), ...]
    r.evaluate(dt.date(2026, 6, 1))   # an Evaluation: hit-rate@5, MAP@5 vs popularity
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis

from segmentry.analytics import recommendations as rec
from segmentry.core.context import Context
from segmentry.core.errors import WorkspaceError

__all__ = ["Pair", "Product", "RecommendationService", "RefreshReport"]

DEFAULT_WINDOW_DAYS = 90


@dataclass(frozen=True)
class Product:
    """A recommended product as a page, the CLI or a message shows it."""

    rank: int
    product_id: str
    title: str
    price: Decimal | None
    score: float
    reason: str  # next, co or popular


@dataclass(frozen=True)
class Pair:
    """Two products and how often the second follows (``next``) or goes with (``co``) the
    first: ``customers`` counted, ``share`` = P(second | first)."""

    kind: str
    product_id: str
    title: str
    other_id: str
    other_title: str
    customers: int
    share: float


@dataclass(frozen=True)
class RefreshReport:
    customers: int
    rows: int
    seconds: float


class RecommendationService:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.shop_id = context.settings.shop.id

    @property
    def _con(self) -> Any:
        con = self.context.warehouse
        if "order_line_facts" not in con.list_tables():
            raise WorkspaceError(
                "There are no order facts yet.",
                code="no_facts",
                hint="Run segmentry run first.",
            )
        return con

    def refresh(self, *, k: int = 5) -> RefreshReport:
        """Recommend for every customer with an order and store the table."""
        started = time.perf_counter()
        con = self._con
        model = rec.train(con, self.shop_id)
        table = rec.to_table(model, rec.recommend(model, k=k), self.shop_id)
        with self.context.lock("recommendations refresh"):
            con.create_table(rec.RECOMMENDATIONS, table, overwrite=True)
        return RefreshReport(len(model.customers), table.num_rows, time.perf_counter() - started)

    def stored(self) -> bool:
        return rec.RECOMMENDATIONS in self.context.warehouse.list_tables()

    def for_customer(self, customer_id: str) -> list[Product]:
        """The stored list of ``customer_id`` (the popularity list when they have none)."""
        con = self._con
        wanted = ibis.memtable({"customer_id": [customer_id]})
        table = rec.stored(con, self.shop_id, wanted)
        if table is None:
            return []
        rows = con.to_pyarrow(table.order_by(["rank"])).to_pylist()
        own = [r for r in rows if r["customer_id"] == customer_id]
        return [_product(r) for r in (own or [r for r in rows if r["customer_id"] is None])]

    def popular(self) -> list[Product]:
        """The popularity list (what a customer without orders gets)."""
        con = self._con
        table = rec.stored(con, self.shop_id, ibis.memtable({"customer_id": ["\x00"]}))
        if table is None:
            return []
        return [_product(r) for r in con.to_pyarrow(table.order_by("rank")).to_pylist()]

    def top_pairs(self, kind: str, limit: int = 20, *, min_customers: int = 2) -> list[Pair]:
        """The ``limit`` strongest ``next`` (order k → k + 1) or ``co`` (same customer) pairs
        with at least ``min_customers``, by customers."""
        con = self._con
        lines = rec.bought(con, self.shop_id)
        if kind == "next":
            pairs = rec.next_counts(lines).rename(other_id="next_product_id")
            totals = rec.next_from(lines).rename(total="orders")
        else:
            pairs = rec.co_counts(lines).rename(other_id="other_product_id")
            totals = rec.owned(lines).group_by("product_id").aggregate(total=ibis._.count())
        # A next pair of a product with itself is a rebuy; a co pair is counted both ways.
        pairs = pairs.filter(pairs.product_id != pairs.other_id if kind == "next"
                             else pairs.product_id < pairs.other_id)
        pairs = pairs.filter(pairs.customers >= min_customers)
        top = pairs.order_by([ibis.desc("customers"), "product_id", "other_id"]).limit(limit)
        j = top.join(totals, "product_id")
        rows = con.to_pyarrow(j).to_pylist()
        titles = self._titles({r["product_id"] for r in rows} | {r["other_id"] for r in rows})
        found = [
            Pair(kind, r["product_id"], titles.get(r["product_id"], r["product_id"]),
                 r["other_id"], titles.get(r["other_id"], r["other_id"]), int(r["customers"]),
                 r["customers"] / r["total"] if r["total"] else 0.0)
            for r in rows
        ]
        return sorted(found, key=lambda p: (-p.customers, p.product_id, p.other_id))

    def default_cutoff(self, window_days: int = DEFAULT_WINDOW_DAYS) -> dt.date:
        """The last order day minus ``window_days`` (the last window is the test)."""
        con = self._con
        f = con.table("order_line_facts")
        last = con.to_pyarrow(f.filter(f.shop_id == self.shop_id).processed_on.max()).as_py()
        if last is None:
            raise WorkspaceError("There are no orders to evaluate on.", code="no_orders")
        cutoff: dt.date = last - dt.timedelta(days=window_days - 1)
        return cutoff

    def evaluate(self, cutoff: dt.date | None = None, *,
                 window_days: int = DEFAULT_WINDOW_DAYS, k: int = 5) -> rec.Evaluation:
        """Hit-rate@k and MAP@k on a time split, against popularity (docs/insight.md)."""
        con = self._con
        cutoff = cutoff or self.default_cutoff(window_days)
        return rec.evaluate(con, self.shop_id, cutoff, window_days=window_days, k=k)

    def _titles(self, product_ids: set[str]) -> dict[str, str]:
        con = self._con
        d = rec.product_details(con, self.shop_id)
        d = d.filter(d.product_id.isin(sorted(product_ids)))
        return {r["product_id"]: r["title"] for r in con.to_pyarrow(d).to_pylist()}


def _product(row: dict[str, Any]) -> Product:
    return Product(int(row["rank"]), row["product_id"], row["title"], row["price"],
                   float(row["score"]), row["reason"])
