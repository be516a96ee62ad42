"""Recommendations (analytics.recommendations) on hand-worked stores, on each engine.

The hand store (recommendations_fixtures.HAND), worked out on paper:

- next pairs: p1 → p2 by c1 and c2, p1 → p3 by c3, p4 → p4 by c5; next_from(p1) = 3
  (c1, c2, c3 ordered again), next_from(p4) = 1. So P_next(p2|p1) = 2/3, P_next(p3|p1) = 1/3,
  P_next(p4|p4) = 1.
- co pairs: p1 & p2 by c1, c2; p1 & p3 by c3. buyers: p1 4, p2 2, p3 1, p4 1. So
  P_co(p2|p1) = 2/4, P_co(p3|p1) = 1/4, P_co(p1|p2) = 2/2, P_co(p1|p3) = 1/1.
- one-time: p1, p2, p3 (nobody bought them twice); p4 is not (c5 bought it twice).
- c4 (last order {p1}, owns p1): p2 = 0.7·2/3 + 0.3·1/2 = 0.61667 (next), p3 = 0.7·1/3 +
  0.3·1/4 = 0.30833 (next), p1 left out (owned, one-time), then p4 by popularity.
- c1 (last {p2}, owns p1, p2): nothing follows p2; co = mean(P_co(·|p1), P_co(·|p2)):
  p3 = (1/4 + 0)/2 = 0.125 → 0.3·0.125 = 0.0375 (co); p1, p2 owned; then p4 (popular).
- c3 (last {p3}, owns p1, p3): p2 = 0.3·(1/2)/2 = 0.075 (co); then p4.
- c5 (last {p4}): p4 = 0.7 (next; a consumable stays), then p1, p2, p3 by popularity.
- the popularity list (customers without orders, c6): p1, p2, p3, p4.
"""

from __future__ import annotations

import datetime as dt
import random
from fractions import Fraction

import pytest
from ibis.backends import BaseBackend

from segmentry.analytics import recommendations as rec
from segmentry.analytics.facts import build_facts
from segmentry.ledger.store import LedgerBatch, write_batch

from . import recommendations_fixtures as fx


def _load(con: BaseBackend, story: fx.Story, products: dict[str, tuple[str, int]] | None = None
          ) -> BaseBackend:
    write_batch(con, LedgerBatch(**fx.store(story, products)), tz=fx.TIMEZONE)
    build_facts(con, subtract_refunds=True)
    return con


@pytest.fixture
def hand(warehouse: BaseBackend) -> BaseBackend:
    return _load(warehouse, fx.HAND)


def _lists(model: rec.Model, recs: rec.Recommendations) -> dict[str, list[tuple[str, float, str]]]:
    out = {}
    for i, customer in enumerate(recs.customers):
        out[customer] = [(model.products[p], round(float(recs.scores[i, j]), 5), recs.reasons[i, j])
                         for j, p in enumerate(recs.products[i]) if p >= 0]
    return out


def test_hand_store_counts(hand: BaseBackend) -> None:
    lines = rec.bought(hand, "shop")
    nxt = {(r["product_id"], r["next_product_id"]): r["customers"]
           for r in hand.to_pyarrow(rec.next_counts(lines)).to_pylist()}
    assert nxt == {("p1", "p2"): 2, ("p1", "p3"): 1, ("p4", "p4"): 1}
    frm = {r["product_id"]: r["orders"] for r in hand.to_pyarrow(rec.next_from(lines)).to_pylist()}
    assert frm == {"p1": 3, "p4": 1}
    co = {(r["product_id"], r["other_product_id"]): r["customers"]
          for r in hand.to_pyarrow(rec.co_counts(lines)).to_pylist()}
    assert co == {("p1", "p2"): 2, ("p2", "p1"): 2, ("p1", "p3"): 1, ("p3", "p1"): 1}


def test_hand_store_recommendations(hand: BaseBackend) -> None:
    model = rec.train(hand, "shop")
    assert dict(zip(model.products, model.one_time, strict=True)) == {
        "p1": True, "p2": True, "p3": True, "p4": False}
    recs = rec.recommend(model, k=5)
    assert _lists(model, recs) == {
        "c1": [("p3", 0.0375, "co"), ("p4", 0.0, "popular")],
        "c2": [("p3", 0.0375, "co"), ("p4", 0.0, "popular")],
        "c3": [("p2", 0.075, "co"), ("p4", 0.0, "popular")],
        "c4": [("p2", 0.61667, "next"), ("p3", 0.30833, "next"), ("p4", 0.0, "popular")],
        "c5": [("p4", 0.7, "next"), ("p1", 0.0, "popular"), ("p2", 0.0, "popular"),
               ("p3", 0.0, "popular")],
    }
    assert [model.products[p] for p in recs.popular] == ["p1", "p2", "p3", "p4"]


def test_stored_table_with_titles_and_prices(hand: BaseBackend) -> None:
    model = rec.train(hand, "shop")
    hand.create_table(rec.RECOMMENDATIONS, rec.to_table(model, rec.recommend(model, k=2), "shop"))
    table = rec.stored(hand, "shop")
    assert table is not None
    rows = hand.to_pyarrow(table.order_by(["customer_id", "rank"])).to_pylist()
    got = {(r["customer_id"], r["rank"]): (r["product_id"], r["title"], int(r["price"]))
           for r in rows}
    assert got[("c4", 1)] == ("p2", "やさしい泡洗顔フォーム", 2400)
    assert got[("c4", 2)] == ("p3", "椿ヘアオイル", 3300)
    assert got[(None, 1)] == ("p1", "ビタミンC美容液", 5000)  # the popularity list
    assert len(rows) == 5 * 2 + 2


def test_evaluation_on_hand_split(hand: BaseBackend) -> None:
    # Train before 2024-02-01 (first orders only): no next pairs yet; co pairs none (one
    # product each). Test window 2024-02-01 + 30 days: c1, c2 bought p2, c3 p3, c5 p4.
    # Popularity before the cut-off: p1 (4), p4 (1): c1..c3 own p1 (one-time) → [p4];
    # c5 owns p4 but p4 is one-time *before the cut-off* (bought once) → [p1]. No hit.
    e = rec.evaluate(hand, "shop", dt.date(2024, 2, 1), window_days=30)
    assert (e.customers, e.hit_rate, e.map, e.popularity_hit_rate) == (4, 0.0, 0.0, 0.0)


# ---------------------------------------------------------------- the metrics by hand


def test_hit_rate_and_map_by_hand() -> None:
    recommended = {"a": ["x", "y", "z", "w", "v", "u"], "b": ["q", "r"], "c": ["m"]}
    truth = {"a": {"z", "u"}, "b": {"r", "q"}, "c": {"n"}}
    # a: hit (z at 3); u at 6 is past k. AP = (1/3) / min(2, 5) = 1/6.
    # b: q at 1, r at 2: AP = (1/1 + 2/2) / 2 = 1. c: no hit, AP 0.
    assert rec.hit_rate_at_k(recommended, truth, 5) == pytest.approx(2 / 3)
    assert rec.average_precision_at_k(recommended["a"], truth["a"], 5) == pytest.approx(1 / 6)
    assert rec.mean_average_precision_at_k(recommended, truth, 5) == pytest.approx(
        (1 / 6 + 1 + 0) / 3)
    # k = 6 reaches u: AP(a) = (1/3 + 2/6) / 2.
    assert rec.average_precision_at_k(recommended["a"], truth["a"], 6) == pytest.approx(1 / 3)
    assert rec.hit_rate_at_k({}, truth, 5) == 0.0  # nothing recommended: no hit
    assert rec.mean_average_precision_at_k(recommended, {}, 5) == 0.0


# ---------------------------------------------------------------- a known sequence signal


def test_beats_popularity_where_the_sequence_is_known(warehouse: BaseBackend) -> None:
    story, products = fx.sequence_story()
    con = _load(warehouse, story, products)
    cutoff, window = dt.date(2024, 5, 1), 60
    e = rec.evaluate(con, "shop", cutoff, window_days=window)
    # The reference, in plain Python over the story: who is tested, and what popularity
    # (buyers before the cut-off, owned one-time items left out) recommends them.
    end = cutoff + dt.timedelta(days=window)
    before, after = {}, {}
    for c, orders in story.items():
        for day, basket in orders:
            d = dt.date.fromisoformat(day)
            if d < cutoff:
                before.setdefault(c, set()).update(basket)
            elif d < end:
                after.setdefault(c, set()).update(basket)
    tested = {c: t for c, t in after.items() if c in before}
    buyers: dict[str, int] = {}
    for owned in before.values():
        for p in owned:
            buyers[p] = buyers.get(p, 0) + 1
    ranking = sorted(buyers, key=lambda p: (-buyers[p], p))  # nobody rebuys: all one-time
    popular = {c: [p for p in ranking if p not in before[c]][:5] for c in tested}
    assert e.customers == len(tested) > 30
    assert e.popularity_hit_rate == pytest.approx(rec.hit_rate_at_k(popular, tested, 5))
    assert e.popularity_map == pytest.approx(rec.mean_average_precision_at_k(popular, tested, 5))
    # a_i is always followed by b_i: the first recommendation is the right one.
    assert e.hit_rate == 1.0 and e.map == 1.0
    assert e.popularity_hit_rate < 0.5


def test_map_is_the_same_in_any_customer_order() -> None:
    # Customers come in a database's order, which varies between runs: the page's chart and
    # the JSON (two evaluations) once differed in the last digit. The exact mean of these APs
    # (1/2, 1/3, 1/6, …) is checked with fractions.
    rng = random.Random(3)
    truth = {f"c{n}": {f"p{rng.randrange(9)}", f"p{rng.randrange(9)}"} for n in range(400)}
    recommended = {c: [f"p{rng.randrange(9)}" for _ in range(5)] for c in truth}
    items = list(truth.items())
    values = set()
    for _ in range(20):
        rng.shuffle(items)
        values.add(rec.mean_average_precision_at_k(recommended, dict(items), 5))
    assert len(values) == 1
    exact = sum(Fraction(rec.average_precision_at_k(recommended[c], t, 5)) for c, t in items)
    assert values.pop() == float(exact / len(items))
