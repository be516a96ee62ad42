"""Customers without a creation date (Shopify's customers export has none) count from their
first order, or with no orders from the store's first day — on every path that asks who
exists: one day settled or not, a membership history, the store's metrics.

The store (Tokyo; every order at 12:00 local):

    a  undated   orders 2024-03-01 and 2024-03-10
    b  undated   order 2024-03-05, cancelled 2024-03-08
    c  undated   no orders
    d  created 2024-03-03, no orders
    e  created 2024-03-20 (after the others' orders), order 2024-03-21

The store's first day is 2024-03-01 (a's first order; the earliest creation is 03-03).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import Snapshot, members_on, membership_history
from segmentry.analytics.facts import build_facts, store_started_on
from segmentry.analytics.shop_metrics import shop_metrics
from segmentry.ledger.store import LedgerBatch, write_batch

D = dt.date
TZ = "Asia/Tokyo"


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 Tokyo, as naive UTC


def _tables() -> dict[str, pa.Table]:
    ts = pa.timestamp("us")
    created = {"a": None, "b": None, "c": None, "d": D(2024, 3, 3), "e": D(2024, 3, 20)}
    customers = pa.table({
        "shop_id": ["s"] * 5,
        "customer_id": list(created),
        "created_at": pa.array([_noon(d) if d else None for d in created.values()], ts),
    })
    orders = [("o1", "a", D(2024, 3, 1), None), ("o2", "a", D(2024, 3, 10), None),
              ("o3", "b", D(2024, 3, 5), D(2024, 3, 8)), ("o4", "e", D(2024, 3, 21), None)]
    return {
        "customers": customers,
        "orders": pa.table({
            "shop_id": ["s"] * 4,
            "order_id": [o[0] for o in orders],
            "customer_id": [o[1] for o in orders],
            "processed_at": pa.array([_noon(o[2]) for o in orders], ts),
            "cancelled_at": pa.array([_noon(o[3]) if o[3] else None for o in orders], ts),
            "total": pa.array([Decimal(1000)] * 4, pa.decimal128(18, 2)),
        }),
    }


@pytest.fixture
def store(warehouse: BaseBackend) -> BaseBackend:
    write_batch(warehouse, LedgerBatch(**_tables()), tz=TZ)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse


# Who exists, and who has no valid order, at the end of each day (worked out from the story).
EXISTING = {
    D(2024, 2, 29): set(),
    D(2024, 3, 1): {"a", "c"},            # a's first order is the store's first day
    D(2024, 3, 3): {"a", "c", "d"},
    D(2024, 3, 5): {"a", "b", "c", "d"},  # b's order
    D(2024, 3, 8): {"a", "b", "c", "d"},  # b's order cancelled: b stays, with no orders
    D(2024, 3, 21): {"a", "b", "c", "d", "e"},  # settled: the last order event
}
NO_ORDERS = {
    D(2024, 2, 29): set(),
    D(2024, 3, 1): {"c"},
    D(2024, 3, 3): {"c", "d"},
    D(2024, 3, 5): {"c", "d"},
    D(2024, 3, 8): {"b", "c", "d"},
    D(2024, 3, 21): {"b", "c", "d"},
}


def _ids(con: BaseBackend, table: object) -> set[str]:
    return {r["customer_id"] for r in con.to_pyarrow(table).to_pylist()}  # type: ignore[arg-type]


def test_the_day_each_undated_customer_counts_from(store: BaseBackend) -> None:
    assert store_started_on(store) == D(2024, 3, 1)
    rows = store.to_pyarrow(store.table("undated_customers")).to_pylist()
    assert {r["customer_id"]: r["counts_from"] for r in rows} == {
        "a": D(2024, 3, 1), "b": D(2024, 3, 5), "c": D(2024, 3, 1)}


@pytest.mark.parametrize("day", sorted(EXISTING), ids=str)
def test_members_on_a_day(store: BaseBackend, day: dt.date) -> None:
    everyone = language.validate("number_of_orders >= 0")
    nobody_bought = language.validate("number_of_orders = 0")
    assert _ids(store, members_on(store, everyone, day)) == EXISTING[day]
    assert _ids(store, members_on(store, nobody_bought, day)) == NO_ORDERS[day]
    with Snapshot(store, day) as snapshot:  # the daily run's path
        assert _ids(store, members_on(store, nobody_bought, day, snapshot)) == NO_ORDERS[day]


def test_history_stretches(store: BaseBackend) -> None:
    history = membership_history(
        store, language.validate("number_of_orders = 0"), D(2024, 3, 1), D(2024, 3, 31)
    )
    rows = store.to_pyarrow(history).to_pylist()
    assert sorted((r["customer_id"], r["valid_from"], r["valid_to"]) for r in rows) == [
        ("b", D(2024, 3, 8), None),
        ("c", D(2024, 3, 1), None),
        ("d", D(2024, 3, 3), None),
        ("e", D(2024, 3, 20), D(2024, 3, 21)),  # created a day before its first order
    ]


def test_the_store_counts_them_too(store: BaseBackend) -> None:
    frame = shop_metrics(store, D(2024, 2, 29), D(2024, 3, 21)).set_index("day")
    for day, existing in EXISTING.items():
        assert frame.loc[day, "customers"] == len(existing), day
    assert frame.loc[D(2024, 3, 5), "joined"] == 1  # b


def test_once_every_customer_has_a_date_the_facts_forget_the_rule(store: BaseBackend) -> None:
    dated = _tables()["customers"].set_column(
        2, "created_at", pa.array([_noon(D(2024, 2, 1))] * 5, pa.timestamp("us")))
    write_batch(store, LedgerBatch(customers=dated), tz=TZ)
    build_facts(store, subtract_refunds=True)
    assert "undated_customers" not in store.list_tables()
    everyone = language.validate("number_of_orders >= 0")
    assert _ids(store, members_on(store, everyone, D(2024, 2, 29))) == {"a", "b", "c", "d", "e"}
