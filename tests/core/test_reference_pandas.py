"""The starter segments and their daily metrics against an independent pandas reference.

The reference below is written from the definitions (docs/metrics.md, the template
descriptions in ``segmentry.app.templates`` and the as-of rules), using only pandas on the generated
store's Arrow tables: it never calls segmentry's evaluation, facts or metrics code. As of day D
in the shop's zone (Asia/Tokyo):

- a customer is in the population from the local day it was created;
- an order counts if processed on or before D and not cancelled on or before D; its position
  is among the orders counting that day (by processing time); its amount is total − refunded,
  less nothing for the dated refunds made after D (they are added back);
- the customer's tags are the last tag state recorded on or before D;
- ``-30d`` is D minus 30 calendar days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace

from .conftest import open_store_workspace

pytestmark = pytest.mark.slow  # the demo store's 12 starter segments: ~20-60 s

TZ = "Asia/Tokyo"
END = dt.date(2025, 6, 30)
DAYS = (END, END - dt.timedelta(days=45), END - dt.timedelta(days=200))


def _local_day(utc: pd.Series) -> pd.Series:
    """The shop-local calendar day of naive-UTC timestamps (NaT stays missing)."""
    stamps = pd.to_datetime(utc).dt.tz_localize("UTC").dt.tz_convert(TZ)
    return stamps.dt.date.where(stamps.notna(), None)


class Reference:
    """As-of customer state and metrics of a store, from its ledger tables alone."""

    def __init__(self, tables: dict[str, pa.Table]) -> None:
        customers = tables["customers"].to_pandas()
        self.created_on = dict(zip(customers.customer_id, _local_day(customers.created_at),
                                   strict=True))
        orders = tables["orders"].to_pandas()
        orders = orders[orders.customer_id.notna()].copy()
        orders["processed_on"] = _local_day(orders.processed_at)
        orders["cancelled_on"] = _local_day(orders.cancelled_at)
        orders["amount"] = [
            (t or Decimal(0)) - (r or Decimal(0)) for t, r in zip(orders.total, orders.refunded,
                                                                  strict=True)
        ]
        orders["channel"] = orders.channel.fillna("direct")
        orders["is_subscription"] = orders.is_subscription.fillna(False).astype(bool)
        self.orders = orders.sort_values(["processed_at", "order_id"])
        refunds = tables["refunds"].to_pandas() if "refunds" in tables else None
        self.refunds = None
        if refunds is not None:
            refunds["created_on"] = _local_day(refunds.created_at)
            self.refunds = refunds
        lines = tables["order_lines"].to_pandas()[["order_id", "product_id"]]
        products = tables["products"].to_pandas()[["product_id", "product_line"]]
        self.lines = lines.merge(products, on="product_id", how="left")
        history = tables["customer_tag_history"].to_pandas()
        history["seen_on"] = _local_day(history.seen_at)
        self.history = history.sort_values("seen_at")
        self._stats: dict[dt.date, pd.DataFrame] = {}
        # The predictive models' stored predictions (customer_predictions), set by the fixture.
        self.predictions: pd.DataFrame | None = None

    # ------------------------------------------------------------ state as of a day

    def population(self, day: dt.date) -> set[str]:
        return {c for c, created in self.created_on.items() if created <= day}

    def orders_as_of(self, day: dt.date) -> pd.DataFrame:
        o = self.orders
        valid = (o.processed_on <= day) & ~o.cancelled_on.map(
            lambda c: c is not None and c <= day
        )
        o = o[valid].copy()
        o["seq"] = o.groupby("customer_id").cumcount() + 1
        if self.refunds is not None:
            later = self.refunds[self.refunds.created_on > day]
            back = {k: sum(v, Decimal(0)) for k, v in later.groupby("order_id").amount}
            o["amount"] = [a + back.get(i, Decimal(0)) for a, i in zip(o.amount, o.order_id,
                                                                        strict=True)]
        return o

    def stats(self, day: dt.date) -> pd.DataFrame:
        """One row per customer of the population: n, spent, first/last day, flags."""
        if day not in self._stats:
            self._stats[day] = self._compute_stats(day)
        return self._stats[day]

    def _compute_stats(self, day: dt.date) -> pd.DataFrame:
        o = self.orders_as_of(day)
        per = o.groupby("customer_id").agg(
            n=("order_id", "size"),
            spent=("amount", lambda s: sum(s, Decimal(0))),
            first=("processed_on", "min"),
            last=("processed_on", "max"),
            subscriber=("is_subscription", "any"),
        )
        per["first_channel"] = o[o.seq == 1].set_index("customer_id").channel
        frame = pd.DataFrame(index=sorted(self.population(day))).join(per)
        frame["n"] = frame.n.fillna(0).astype(int)
        frame["spent"] = [s if isinstance(s, Decimal) else Decimal(0) for s in frame.spent]
        frame["subscriber"] = frame.subscriber.astype("boolean").fillna(False).astype(bool)
        frame["tags"] = self._tags(day).reindex(frame.index)
        lines = self.lines.merge(o[["order_id", "customer_id", "seq"]], on="order_id")
        first_skincare = lines[(lines.seq == 1) & (lines.product_line == "skincare")]
        later_other = lines[
            (lines.seq >= 2) & lines.product_line.notna() & (lines.product_line != "skincare")
        ]
        frame["skincare_then_other"] = frame.index.isin(
            set(first_skincare.customer_id) & set(later_other.customer_id)
        )
        frame["churn"], frame["next_order"] = float("nan"), None
        p = self.predictions
        if p is not None and (p.fit_date <= day).any():  # the latest fit on or before the day
            latest = p[p.fit_date == p[p.fit_date <= day].fit_date.max()].set_index("customer_id")
            frame["churn"] = latest.churn_probability.reindex(frame.index)
            frame["next_order"] = latest.predicted_next_order_date.reindex(frame.index)
        return frame

    def _tags(self, day: dt.date) -> pd.Series:
        seen = self.history[self.history.seen_on <= day]
        return seen.groupby("customer_id").tags.last().map(list)

    # ------------------------------------------------------------ segments and metrics

    def members(self, template: str, day: dt.date) -> set[str]:
        s = self.stats(day)
        return set(s.index[TEMPLATE_RULES[template](s, day)])

    def metrics(self, template: str, day: dt.date) -> dict[str, Any]:
        members = self.members(template, day)
        before = self.members(template, day - dt.timedelta(days=1))
        s = self.stats(day).loc[sorted(members)]
        buyers, repeaters = s[s.n >= 1], s[s.n >= 2]
        today = self.orders_as_of(day)
        today = today[(today.processed_on == day) & today.customer_id.isin(members)]
        count = len(s)
        own_aov = [spent / n for spent, n in zip(buyers.spent, buyers.n, strict=True)]
        spans = [
            (last - first).days / (n - 1)
            for first, last, n in zip(repeaters["first"], repeaters["last"], repeaters.n,
                                      strict=True)
        ]
        return {
            "customers": count,
            "repeat_rate": len(repeaters) / count if count else None,
            "ltv": sum(s.spent, Decimal(0)) / count if count else None,
            "aov": sum(own_aov, Decimal(0)) / len(own_aov) if own_aov else None,
            "avg_orders": s.n.sum() / count if count else None,
            "purchase_interval": sum(spans) / len(spans) if spans else None,
            "revenue": sum(today.amount, Decimal(0)),
            "orders": len(today),
            "joined": len(members - before),
            "left": len(before - members),
        }


def _days_ago(day: dt.date, n: int) -> dt.date:
    return day - dt.timedelta(days=n)


def _has_tag(tags: pd.Series, tag: str) -> pd.Series:
    return tags.map(lambda t: isinstance(t, list) and tag in t).astype(bool)


def _day_is(days: pd.Series, test: Callable[[dt.date], bool]) -> pd.Series:
    """``test`` of each day; False where there is no day (no order)."""
    return days.map(lambda d: isinstance(d, dt.date) and test(d)).astype(bool)


Rule = Callable[[pd.DataFrame, dt.date], pd.Series]
# Each starter template, from its description (not from its query text).
TEMPLATE_RULES: dict[str, Rule] = {
    "first-time-customers": lambda s, d: s.n == 1,
    "repeat-customers": lambda s, d: s.n >= 2,
    "loyal": lambda s, d: s.n >= 5,
    "f2-candidates": lambda s, d: (s.n == 1)
    & _day_is(s["first"], lambda f: _days_ago(d, 90) <= f <= _days_ago(d, 30)),
    "lapsed": lambda s, d: (s.n >= 2) & _day_is(s["last"], lambda f: f < _days_ago(d, 180)),
    "new-this-month": lambda s, d: _day_is(s["first"], lambda f: f > _days_ago(d, 30)),
    "line-connected": lambda s, d: _has_tag(s.tags, "line"),
    "line-repeaters": lambda s, d: _has_tag(s.tags, "line") & (s.n >= 2),
    "subscribers": lambda s, d: s.subscriber,
    "first-order-instagram": lambda s, d: s.first_channel == "instagram",
    "skincare-then-other-line": lambda s, d: s.skincare_then_other,
    "high-value-at-risk": lambda s, d: pd.Series(
        [spent >= 30000 and churn >= 0.5 for spent, churn in zip(s.spent, s.churn, strict=True)],
        index=s.index, dtype=bool),
    "likely-to-buy-this-month": lambda s, d: _day_is(
        s.next_order, lambda n: n <= d + dt.timedelta(days=30)),
    "high-aov": lambda s, d: pd.Series(
        [n >= 1 and spent / n >= 8000 for n, spent in zip(s.n, s.spent, strict=True)],
        index=s.index,
        dtype=bool,
    ),
}


@pytest.fixture(scope="module")
def demo_tables() -> dict[str, pa.Table]:
    demo = pytest.importorskip(
        "segmentry.connectors.demo", reason="the demo store generator is not available"
    )
    tables: dict[str, pa.Table] = demo.generate_store(3000, seed=11, end_date=END)
    return tables


@pytest.fixture(scope="module")
def demo_workspace(
    tmp_path_factory: pytest.TempPathFactory, demo_tables: dict[str, pa.Table]
) -> Iterator[Workspace]:
    ws = open_store_workspace(Path(tmp_path_factory.mktemp("demo")) / "shop", demo_tables, END)
    try:
        ws.add_starter_segments()
        yield ws
    finally:
        ws.close()


@pytest.fixture(scope="module")
def reference(demo_tables: dict[str, pa.Table], demo_workspace: Workspace) -> Reference:
    ref = Reference(demo_tables)
    stored = demo_workspace.warehouse.table("customer_predictions")
    ref.predictions = stored.to_pyarrow().to_pandas()
    return ref


def test_every_starter_template_has_a_reference() -> None:
    assert set(TEMPLATE_RULES) == set(TEMPLATES)


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_members_match_the_reference(
    demo_workspace: Workspace, reference: Reference, template: str
) -> None:
    for day in DAYS:
        expected = reference.members(template, day)
        got = set(demo_workspace.members(template, as_of=day)["customer_id"].to_pylist())
        assert got == expected, (
            f"{template} on {day}: {len(got - expected)} extra, e.g. {sorted(got - expected)[:5]};"
            f" {len(expected - got)} missing, e.g. {sorted(expected - got)[:5]}"
        )
    assert reference.members(template, END), f"{template} is empty on {END}: a weak test"


_EXACT = ("customers", "orders", "joined", "left")
_CENTS = ("ltv", "aov", "revenue", "purchase_interval")  # yen, and days to 2 places
_RATIOS = ("repeat_rate", "avg_orders")


@pytest.mark.parametrize("template", sorted(TEMPLATES))
def test_daily_metrics_match_the_reference(
    demo_workspace: Workspace, reference: Reference, template: str
) -> None:
    stored = demo_workspace.metrics(template).set_index("day")
    for day in DAYS:
        expected, got = reference.metrics(template, day), stored.loc[day].to_dict()
        for name, want in expected.items():
            have = got[name]
            where = f"{template} {name} on {day}: expected {want}, got {have}"
            if want is None or have is None or pd.isna(have):
                assert (want is None) and (have is None or pd.isna(have)), where
            elif name in _EXACT:
                assert int(have) == want, where
            elif name in _CENTS:
                assert abs(round(Decimal(want), 2) - Decimal(have)) <= Decimal("0.01"), where
            else:
                assert name in _RATIOS
                assert abs(float(want) - float(have)) <= 1e-4 + 1e-9, where
