"""A past day's ``amount_spent`` counts only the refunds made by that day; Shopify's newer
function arguments (``sum_amount``, ``amount``, ``location_id``, ``app_id``, ``category``,
``sum_quantity``) — on every engine, against answers worked out by hand.

The store (Tokyo; every event at 12:00 local; customers created 2024-03-01):

    a  o1 2024-03-02, 10000 (web, app 580111; 2 x P1 Skin Care); refunds 3000 on 03-10 and
       2000 on 03-20 (5000 refunded in all)
    b  o2 2024-03-05, 8000 (POS app 129785 at location 7001; 1 x P2 Hair Care); refunded in
       full (8000) on 03-06
    c  o3 2024-03-03, 6000 (web; 3 x P1); 1000 refunded with no dated refund (a CSV export
       says how much, never when), so counted from the order's day; o4 2024-03-25, 2000
       (web; 1 x P2)

amount_spent, refunds subtracted, at the end of each day:

    day     a      b     c
    03-05  10000  8000  5000
    03-06  10000     0  5000
    03-10   7000     0  5000
    03-20   5000     0  5000
    03-25   5000     0  7000
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import Snapshot, members_on, membership_history
from segmentry.analytics.facts import build_facts, settled_on
from segmentry.ledger.schema import TABLES
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch

D = dt.date
TZ = "Asia/Tokyo"


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 Tokyo, as naive UTC


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _money(n: int) -> Decimal:
    return Decimal(n).quantize(Decimal("0.01"))


# (order, customer, day, total, refunded, app, location, [(product, quantity, line total)])
ORDERS = [
    ("o1", "a", D(2024, 3, 2), 10000, 5000, "580111", None, [("P1", 2, 10000)]),
    ("o2", "b", D(2024, 3, 5), 8000, 8000, "129785", "7001", [("P2", 1, 8000)]),
    ("o3", "c", D(2024, 3, 3), 6000, 1000, "580111", None, [("P1", 3, 6000)]),
    ("o4", "c", D(2024, 3, 25), 2000, 0, "580111", None, [("P2", 1, 2000)]),
]
REFUNDS = [("r1", "o1", D(2024, 3, 10), 3000), ("r2", "o1", D(2024, 3, 20), 2000),
           ("r3", "o2", D(2024, 3, 6), 8000)]
PRODUCTS = {"P1": ("hb-3-2", "Skin Care"), "P2": ("hb-3-1", "Hair Care")}


def store() -> dict[str, pa.Table]:
    """The store above as canonical ledger tables."""
    customers = [{"shop_id": "s", "customer_id": c, "created_at": _noon(D(2024, 3, 1))}
                 for c in "abc"]
    orders = [
        {"shop_id": "s", "order_id": o, "customer_id": c, "processed_at": _noon(day),
         "total": _money(total), "refunded": _money(refunded), "source_name": "pos" if loc
         else "web", "app_id": app, "location_id": loc}
        for o, c, day, total, refunded, app, loc, _ in ORDERS
    ]
    lines = [
        {"shop_id": "s", "order_id": o, "line_id": f"{o}-{i}", "product_id": p,
         "quantity": q, "total": _money(t)}
        for o, *_, items in ORDERS for i, (p, q, t) in enumerate(items)
    ]
    refunds = [{"shop_id": "s", "refund_id": r, "order_id": o, "created_at": _noon(day),
                "amount": _money(n)} for r, o, day, n in REFUNDS]
    products = [{"shop_id": "s", "product_id": p, "category_id": i, "category_name": name}
                for p, (i, name) in PRODUCTS.items()]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders),
            "order_lines": _table("order_lines", lines), "refunds": _table("refunds", refunds),
            "products": _table("products", products)}


@pytest.fixture
def ledger(warehouse: BaseBackend) -> BaseBackend:
    write_batch(warehouse, LedgerBatch(**store()), tz=TZ)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse


def _members(con: BaseBackend, query: str, day: dt.date) -> list[str]:
    condition = language.validate(query)
    return sorted(con.to_pyarrow(members_on(con, condition, day))["customer_id"].to_pylist())


AMOUNTS = {  # day → amount_spent per customer (the table in the module docstring)
    D(2024, 3, 5): {"a": 10000, "b": 8000, "c": 5000},
    D(2024, 3, 6): {"a": 10000, "b": 0, "c": 5000},
    D(2024, 3, 10): {"a": 7000, "b": 0, "c": 5000},
    D(2024, 3, 20): {"a": 5000, "b": 0, "c": 5000},
    D(2024, 3, 25): {"a": 5000, "b": 0, "c": 7000},
}


@pytest.mark.parametrize("day", list(AMOUNTS))
def test_amount_spent_counts_the_refunds_made_by_the_day(ledger: BaseBackend, day: D) -> None:
    for customer, amount in AMOUNTS[day].items():
        got = _members(ledger, f"amount_spent = {amount}", day)
        assert customer in got, (day, customer, amount)
    expect = sorted(c for c, n in AMOUNTS[day].items() if n >= 8000)
    assert _members(ledger, "amount_spent >= 8000", day) == expect
    with Snapshot(ledger, day) as snap:  # the daily run's path
        got = snap.members_of_all({"big": language.validate("amount_spent >= 8000")})["big"]
        assert sorted(ledger.to_pyarrow(got)["customer_id"].to_pylist()) == expect


def test_the_last_refund_day_settles_the_facts(ledger: BaseBackend) -> None:
    assert settled_on(ledger) == D(2024, 3, 25)  # o4; the last refund is 03-20


def test_a_history_changes_on_refund_days(ledger: BaseBackend) -> None:
    condition = language.validate("amount_spent >= 8000")
    got = ledger.to_pyarrow(
        membership_history(ledger, condition, D(2024, 3, 1), D(2024, 3, 31))
    ).to_pylist()
    stretches = sorted((r["customer_id"], r["valid_from"], r["valid_to"]) for r in got)
    assert stretches == [
        ("a", D(2024, 3, 2), D(2024, 3, 10)),  # 10000 until the first refund
        ("b", D(2024, 3, 5), D(2024, 3, 6)),  # refunded in full the next day
    ]


def test_without_subtracting_refunds_the_totals_count(ledger: BaseBackend) -> None:
    build_facts(ledger, subtract_refunds=False)
    assert _members(ledger, "amount_spent >= 8000", D(2024, 3, 20)) == ["a", "b"]
    assert _members(ledger, "amount_spent >= 8000", D(2024, 3, 6)) == ["a", "b"]


ARGUMENT_CASES = [
    # sum_amount sums order totals (refunds not subtracted): c 6000 + 2000 from 03-25
    ("orders_placed MATCHES (sum_amount >= 8000)", D(2024, 3, 24), ["a", "b"]),
    ("orders_placed MATCHES (sum_amount >= 8000)", D(2024, 3, 25), ["a", "b", "c"]),
    ("orders_placed(amount: 6000) = true", D(2024, 3, 31), ["c"]),
    ("orders_placed MATCHES (amount BETWEEN 7000 AND 9000)", D(2024, 3, 31), ["b"]),
    ("orders_placed MATCHES (location_id = 7001)", D(2024, 3, 31), ["b"]),
    ("orders_placed(app_id: 580111, count: 2) = true", D(2024, 3, 31), ["c"]),
    ("orders_placed MATCHES (app_id != 580111)", D(2024, 3, 31), ["b"]),
    ("products_purchased(category: 'Hair Care') = true", D(2024, 3, 24), ["b"]),
    ("products_purchased(category: 'hair care') = true", D(2024, 3, 25), ["b", "c"]),
    ("products_purchased MATCHES (category = 'hb-3-2', sum_quantity >= 3)", D(2024, 3, 31),
     ["c"]),
    ("products_purchased MATCHES (category = ('hb-3-1', 'hb-3-2'), sum_quantity = 2)",
     D(2024, 3, 31), ["a"]),
    ("products_purchased MATCHES (category != 'hb-3-1')", D(2024, 3, 31), ["a", "c"]),
]


@pytest.mark.parametrize(("query", "day", "expect"), ARGUMENT_CASES)
def test_shopifys_newer_arguments(
    ledger: BaseBackend, query: str, day: D, expect: list[str]
) -> None:
    assert _members(ledger, query, day) == expect


def test_an_older_ledger_gets_the_new_columns(warehouse: BaseBackend) -> None:
    """A ledger made before orders had location / app and products a category gets them as
    NULL columns, last; then rows with them are written and read back."""
    old = {"orders": ("location_id", "app_id"), "products": ("category_id", "category_name")}
    for name, added in old.items():
        schema = TABLES[name]
        warehouse.create_table(
            name, schema=type(schema)({k: v for k, v in schema.items() if k not in added})
        )
    write_batch(warehouse, LedgerBatch(**store()), tz=TZ)
    for name, added in old.items():
        assert tuple(warehouse.table(name).columns[-len(added):]) == added
    orders = warehouse.to_pyarrow(warehouse.table("orders").order_by("order_id"))
    assert orders["location_id"].to_pylist() == [None, "7001", None, None]
    build_facts(warehouse, subtract_refunds=True)
    assert _members(warehouse, "products_purchased(category: 'Hair Care') = true",
                    D(2024, 3, 31)) == ["b", "c"]
