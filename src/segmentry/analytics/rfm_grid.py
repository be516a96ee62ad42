"""The RFM grid: how many customers each of Shopify's eleven RFM groups holds on given days.

Two sources give a customer's group (docs/segment-language.md, docs/metrics.md):

- ``rfm_group``: Shopify's own group (Customer.statistics), as observed at the latest sync on or
  before the day; a customer not yet observed has none.
- ``rfm_segment``: segmentry's rule on recency and frequency, for any store and any day.

Each day is one evaluation of the eleven conditions ``<source> = '<GROUP>'`` (and one that
every customer meets, for the store's size) with the segment compiler, so the counts mean
exactly what a segment on that condition would hold. For the rule the classic R × F layout is
also available (:func:`rf_cells`): recency score 5..1 by days since the last order
(≤ 30, ≤ 60, ≤ 120, ≤ 240 days, older) and frequency score 1..5 by orders (1, 2, 3, 4–5, 6+).

>>> conditions_of("rfm_segment")[0]
"rfm_segment = 'CHAMPIONS'"
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.asof import Facts, customer_stats, orders_as_of, statistics_table
from segmentry.analytics.compiler import evaluate_many
from segmentry.language.catalog import RFM_GROUPS, RFM_RECENCY_DAYS

__all__ = [
    "FREQUENCY_BOUNDS",
    "SOURCES",
    "DayCounts",
    "conditions_of",
    "first_observation",
    "group_counts",
    "rf_cells",
]

# The attributes a grid can read: Shopify's groups, segmentry's rule.
SOURCES = ("rfm_group", "rfm_segment")

# Frequency score k (1..5) holds number_of_orders in [low, high] (None: no bound); the rule of
# rfm_segment in docs/metrics.md.
FREQUENCY_BOUNDS = ((1, 1), (2, 2), (3, 3), (4, 5), (6, None))
_EVERYONE = "number_of_orders >= 0"


@dataclass(frozen=True)
class DayCounts:
    """One day of the grid: members per group (every group present, 0 when empty), and the
    store's customers on the day (``customers - sum(groups)`` have no group)."""

    day: dt.date
    groups: dict[str, int]
    customers: int

    @property
    def grouped(self) -> int:
        return sum(self.groups.values())


def conditions_of(source: str) -> list[str]:
    """The condition of each RFM group (in Shopify's order) on ``source``."""
    if source not in SOURCES:
        raise ValueError(f"unknown RFM source {source!r}")
    return [f"{source} = '{group}'" for group in RFM_GROUPS]


def _counts(con: BaseBackend, day: dt.date, texts: list[str]) -> list[int]:
    """How many customers meet each condition on ``day`` (one evaluation)."""
    conditions = [language.validate(t) for t in texts]
    wide = evaluate_many(Facts.of(con), day, conditions)
    sums = wide.aggregate(**{f"c{i}": ibis.ifelse(wide[f"m{i}"], 1, 0).sum()
                             for i in range(len(texts))})
    row = con.to_pyarrow(sums).to_pylist()[0]
    return [int(row[f"c{i}"] or 0) for i in range(len(texts))]


def group_counts(con: BaseBackend, days: list[dt.date], source: str) -> list[DayCounts]:
    """The grid: each group's members on each of ``days`` by ``source`` (see the module).

    NOTE: every day in one evaluation over (customer, day) points, not one per day: six times
    faster over a year of month-ends (the engine reads the orders once). The order statistics
    the conditions read are handed to the compiler ready-made (:func:`_stats_on`).
    """
    texts = [*conditions_of(source), _EVERYONE]
    facts = Facts.of(con)
    wanted = sorted(set(days))
    points = facts.customers.select("customer_id").cross_join(
        ibis.memtable({"day": wanted}, schema={"day": "date"}))
    wide = evaluate_many(facts, points, [language.validate(t) for t in texts],
                         prebuilt={"stats": _stats_on(facts, wanted)})
    sums = wide.group_by("day").aggregate(**{f"c{i}": ibis.ifelse(wide[f"m{i}"], 1, 0).sum()
                                             for i in range(len(texts))})
    found = {_date(r["day"]): r for r in con.to_pyarrow(sums).to_pylist()}
    result = []
    for day in days:
        row = found.get(day, {})
        counts = [int(row.get(f"c{i}") or 0) for i in range(len(texts))]
        result.append(DayCounts(day, dict(zip(RFM_GROUPS, counts[:-1], strict=True)),
                                counts[-1]))
    return result


# The order statistics the grid's conditions read: rfm_segment's recency and frequency
# (last_day, n_orders), and number_of_orders.
_STATS = ("n_orders", "last_day")


def _stats_on(facts: Facts, days: list[dt.date]) -> ir.Table:
    """Each customer's :data:`_STATS` on each of ``days``, from the orders valid on each day
    (one :func:`orders_as_of` per day, stacked).

    NOTE: the compiler's own route joins the (customer, day) points to the orders and adds
    the refunds made later back to each amount; these two statistics need neither, and a
    filter per day is cheaper than that join (about a third less work at 1,000,000
    customers, docs/performance.md).
    """
    valid = []
    for day in days:
        orders = orders_as_of(facts.orders, day, positions=False, settled=facts.settled)
        valid.append(orders.drop("seq") if "seq" in orders.columns else orders)
    return customer_stats(ibis.union(*valid), _STATS)


def _date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def _recency_conditions() -> list[str]:
    """Recency score 5 down to 1 as conditions on ``days_since_last_order``."""
    bounds = [0, *RFM_RECENCY_DAYS]
    parts = [f"days_since_last_order BETWEEN {bounds[i] + (1 if i else 0)} AND {bounds[i + 1]}"
             for i in range(len(RFM_RECENCY_DAYS))]
    return [*parts, f"days_since_last_order > {RFM_RECENCY_DAYS[-1]}"]


def _frequency_conditions() -> list[str]:
    """Frequency score 1 up to 5 as conditions on ``number_of_orders``."""
    return [f"number_of_orders = {low}" if high == low
            else f"number_of_orders >= {low}" if high is None
            else f"number_of_orders BETWEEN {low} AND {high}"
            for low, high in FREQUENCY_BOUNDS]


def rf_cells(con: BaseBackend, day: dt.date) -> dict[tuple[int, int], int]:
    """``(recency score, frequency score) → customers`` on ``day`` for customers with an order
    (the rule of ``rfm_segment``; scores 5 = most recent / most frequent)."""
    recency, frequency = _recency_conditions(), _frequency_conditions()
    cells = [(5 - r, f + 1) for r in range(len(recency)) for f in range(len(frequency))]
    texts = [f"{recency[5 - r]} AND {frequency[f - 1]}" for r, f in cells]
    return dict(zip(cells, _counts(con, day, texts), strict=True))


def first_observation(con: BaseBackend) -> dt.date | None:
    """The first day Shopify's RFM group of any customer was observed (None: never — a store
    not synced from Shopify, or a ledger without the history table)."""
    history = statistics_table(con)
    if history is None:
        return None
    seen = history.filter(history.rfm_group.notnull()).seen_on.min()
    value = con.to_pyarrow(seen).as_py()
    return None if value is None else value
