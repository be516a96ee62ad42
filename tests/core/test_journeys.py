"""Journey panels on the small store, worked out by hand from its story (fixtures/small_store.py).

Every customer is a "member" here, as of 2024-05-31 unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt

import ibis
from ibis.backends import BaseBackend

from segmentry.analytics.journeys import (
    GAP_BUCKETS,
    display_name,
    early_orders,
    journey,
    top_in_nth_order,
)

DAY = dt.date(2024, 5, 31)


def _everyone(con: BaseBackend) -> ibis.Table:
    return con.table("customers").select("customer_id")


def _top(con: BaseBackend, n: int, dimension: str, day: dt.date = DAY) -> list[tuple[str, int]]:
    orders = early_orders(con, _everyone(con), day)
    frame = con.execute(top_in_nth_order(con, orders, n, dimension, limit=10))
    return [(str(r.value), int(r.customers)) for r in frame.itertuples()]


def test_first_order_products_types_and_channels(small_ledger: BaseBackend) -> None:
    con = small_ledger
    # c04's cancelled serum order does not count: their cleanser is their 1st order.
    assert _top(con, 1, "products") == [
        ("Foam Cleanser", 3),  # c04, c05, c14
        ("Hydra Serum", 3),  # c05, c06, c08
        ("Vitamin C Serum", 3),  # c01, c07, c13
        ("Collagen Drink", 2),
        ("Scalp Shampoo", 2),
        ("Body Lotion", 1),
    ]
    # c05's first order holds a serum and a cleanser: one customer, counted once per type.
    assert _top(con, 1, "product_types") == [
        ("Serum", 6), ("Cleanser", 3), ("Shampoo", 2), ("Supplement", 2), ("Lotion", 1)
    ]
    assert _top(con, 1, "channels") == [
        ("google", 5), ("instagram", 5), ("direct", 2), ("affiliate", 1)
    ]


def test_second_order_panels(small_ledger: BaseBackend) -> None:
    con = small_ledger
    assert _top(con, 2, "products") == [
        ("Scalp Shampoo", 4),  # c03, c09, c11, c13
        ("Vitamin C Serum", 3),  # c05, c07, c14
        ("Body Lotion", 2),  # c04, c06
        ("Collagen Drink", 1),
        ("Foam Cleanser", 1),
        ("Hydra Serum", 1),
    ]
    assert _top(con, 2, "channels") == [
        ("line", 4), ("direct", 3), ("email", 3), ("affiliate", 1), ("instagram", 1)
    ]


def test_journey_counts_shares_and_gap_histogram(small_ledger: BaseBackend) -> None:
    con = small_ledger
    result = journey(con, _everyone(con), DAY, limit=3)
    assert result.members == 14
    assert result.with_order == {1: 13, 2: 12}
    first_channels = result.panels[1]["channels"]
    assert [(s.value, s.customers, s.share) for s in first_channels] == [
        ("google", 5, round(5 / 13, 4)),
        ("instagram", 5, round(5 / 13, 4)),
        ("direct", 2, round(2 / 13, 4)),
    ]
    # Gaps: c14 1, c07 9, c13 18, c01 26, c05 29, c02 31, c09 31, c04 34, c03 47, c06 58,
    # c11 78, c12 104 (c05's 2nd order is 03-31 23:59 Tokyo: a local day, 29 days on).
    assert result.gaps == [
        ("0-7", 1), ("8-14", 1), ("15-30", 3), ("31-60", 5), ("61-90", 1), ("91-180", 1),
        ("181-365", 0), ("366+", 0),
    ]
    assert len(result.gaps) == len(GAP_BUCKETS)
    assert result.median_gap == 31.0
    data = result.to_dict()
    assert data["orders"]["2"]["customers"] == 12
    assert data["orders"]["1"]["channels"][0] == {
        "value": "google", "customers": 5, "share": round(5 / 13, 4), "label": "google"
    }
    # Product types the store spells out keep their names; slugs would read as words.
    assert [(r["value"], r["label"]) for r in data["orders"]["1"]["product_types"]] == [
        ("Serum", "Serum"), ("Cleanser", "Cleanser"), ("Shampoo", "Shampoo")
    ]
    assert display_name("gift_set") == "Gift set"


def test_positions_are_as_of_the_day(small_ledger: BaseBackend) -> None:
    con = small_ledger
    # On 2024-02-05 c04's serum order (cancelled 02-10) was still their 1st order.
    day = dt.date(2024, 2, 5)
    products = dict(_top(con, 1, "products", day))
    assert products["Hydra Serum"] == 2  # c04, c06 (c05 and c08 had not ordered yet)
    assert "Foam Cleanser" not in products  # c04's cleanser came 02-15, c14's in April


def test_members_limit_the_panels(small_ledger: BaseBackend) -> None:
    con = small_ledger
    customers = con.table("customers")
    members = customers.filter(customers.customer_id.isin(["c01", "c10"])).select("customer_id")
    result = journey(con, members, DAY)
    assert result.members == 2
    assert result.with_order == {1: 1, 2: 1}
    assert [(s.value, s.customers, s.share) for s in result.panels[2]["products"]] == [
        ("Foam Cleanser", 1, 1.0)
    ]
    assert result.median_gap == 26.0
