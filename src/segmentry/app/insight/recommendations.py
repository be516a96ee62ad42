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
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa

from segmentry.analytics import recommendations as rec
from segmentry.core.context import Context
from segmentry.core.errors import WorkspaceError

__all__ = ["Pair", "Product", "RecommendationService", "RefreshReport", "Summary"]

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


PAIRS = "recommendation_pairs"
EVALUATION = "recommendation_evaluation"
TOP_PAIRS = 20


@dataclass(frozen=True)
class Summary:
    """What the page shows: the stored evaluation (None before a refresh, or with too few
    orders) and top pairs, and the popularity list."""

    evaluation: rec.Evaluation | None
    next_pairs: list[Pair]
    co_pairs: list[Pair]
    popular: list[Product]


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
                hint="Run the daily pipeline first: it builds them.",
            )
        return con

    def refresh(self, *, k: int = 5, evaluate: bool = True) -> RefreshReport:
        """Recommend for every customer with an order and store the table; store the top
        pairs and (``evaluate``) the evaluation on the default split beside it."""
        started = time.perf_counter()
        con = self._con
        model = rec.train(con, self.shop_id)
        table = rec.to_table(model, rec.recommend(model, k=k), self.shop_id)
        pairs = self._top_pairs(model)
        evaluation = self._evaluation() if evaluate else None
        with self.context.lock("recommendations refresh"):
            con.create_table(rec.RECOMMENDATIONS, table, overwrite=True)
            con.create_table(PAIRS, pairs, overwrite=True)
            if evaluation is not None:
                con.create_table(EVALUATION, pa.Table.from_pylist([asdict(evaluation)]),
                                 overwrite=True)
            else:
                con.drop_table(EVALUATION, force=True)
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

    def summary(self) -> Summary:
        """The stored evaluation, top pairs and popularity list (empty before a refresh)."""
        con = self._con
        tables = set(con.list_tables())
        pairs = con.to_pyarrow(con.table(PAIRS)).to_pylist() if PAIRS in tables else []
        found = [Pair(**r) for r in pairs]
        evaluation = None
        if EVALUATION in tables:
            rows = con.to_pyarrow(con.table(EVALUATION)).to_pylist()
            evaluation = rec.Evaluation(**rows[0]) if rows else None
        return Summary(evaluation, [p for p in found if p.kind == "next"],
                       [p for p in found if p.kind == "co"], self.popular())

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

    def _evaluation(self) -> rec.Evaluation | None:
        try:
            found = self.evaluate()
        except WorkspaceError:
            return None
        return found if found.customers else None

    def _top_pairs(self, model: rec.Model) -> pa.Table:
        """The :data:`TOP_PAIRS` strongest next pairs (a product with itself is a rebuy, left
        out) and co pairs (each pair once), bought by at least two customers."""
        rows: list[dict[str, Any]] = []
        for kind, other in (("next", "next_product_id"), ("co", "other_product_id")):
            for r in model.pairs[kind].to_pylist():
                a, b = r["product_id"], r[other]
                if r["customers"] >= 2 and (a != b if kind == "next" else a < b):
                    rows.append({"kind": kind, "product_id": a, "other_id": b,
                                 "customers": int(r["customers"])})
        rows.sort(key=lambda r: (r["kind"], -r["customers"], r["product_id"], r["other_id"]))
        top = [r for kind in ("next", "co")
               for r in [r for r in rows if r["kind"] == kind][:TOP_PAIRS]]
        index = model.index({r["product_id"] for r in top} | {r["other_id"] for r in top})
        titles = self._titles(set(index))
        for r in top:
            shares = model.next_prob if r["kind"] == "next" else model.co_prob
            r["share"] = float(shares[index[r["product_id"]], index[r["other_id"]]])
            r["title"] = titles.get(r["product_id"], r["product_id"])
            r["other_title"] = titles.get(r["other_id"], r["other_id"])
        schema = pa.schema([("kind", pa.string()), ("product_id", pa.string()),
                            ("title", pa.string()), ("other_id", pa.string()),
                            ("other_title", pa.string()), ("customers", pa.int64()),
                            ("share", pa.float64())])
        return pa.Table.from_pylist(top, schema=schema)

    def _titles(self, product_ids: set[str]) -> dict[str, str]:
        con = self._con
        d = rec.product_details(con, self.shop_id)
        d = d.filter(d.product_id.isin(sorted(product_ids)))
        return {r["product_id"]: r["title"] for r in con.to_pyarrow(d).to_pylist()}


def _product(row: dict[str, Any]) -> Product:
    return Product(int(row["rank"]), row["product_id"], row["title"], row["price"],
                   float(row["score"]), row["reason"])
