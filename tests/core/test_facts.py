"""Facts follow the ledger: only the customers whose orders changed are rebuilt, and the
result is what a rebuild from scratch gives.

On the small store (fixtures/small_store.py), each engine. The batch below, worked out by hand:
c08 gets an order (o800, 2024-03-01) before its only one (o801, 03-12), so o801 becomes #2;
c13's 2nd order o1302 is cancelled on 2024-06-02 (Tokyo) and loses its position; o1102 moves
from c11 to c10 (c11 keeps o1101 as #1, c10's first order is o1102).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry.analytics.facts import build_facts, order_facts, order_line_facts, settled_on
from segmentry.ledger.store import LedgerBatch, write_batch

from .fixtures import small_store

_BY_ID = {o["order_id"]: o for o in small_store.ORDERS}
CHANGES = small_store.order_tables([
    small_store.order("o800", "c08", dt.datetime(2024, 3, 1, 3), [("1003", 1)], "line"),
    _BY_ID["o1302"] | {"cancelled_at": dt.datetime(2024, 6, 2, 3)},  # 12:00 Tokyo
    _BY_ID["o1102"] | {"customer_id": "c10"},
])


def _facts(con: BaseBackend, *customers: str) -> dict[str, tuple[Any, ...]]:
    t = con.table("order_facts")
    if customers:
        t = t.filter(t.customer_id.isin(list(customers)))
    rows = con.to_pyarrow(t.select("order_id", "customer_id", "seq", "amount")).to_pylist()
    return {r["order_id"]: (r["customer_id"], r["seq"], r["amount"]) for r in rows}


def _lines(con: BaseBackend) -> dict[str, tuple[Any, ...]]:
    rows = con.to_pyarrow(con.table("line_facts")).to_pylist()
    return {r["line_id"]: (r["customer_id"], r["seq"], r["channel"]) for r in rows}


def _lines_from_scratch(con: BaseBackend) -> dict[str, tuple[Any, ...]]:
    lines = order_line_facts(con, order_facts(con, subtract_refunds=True))
    rows = con.to_pyarrow(lines).to_pylist()
    return {r["line_id"]: (r["customer_id"], r["seq"], r["channel"]) for r in rows}


def _write(con: BaseBackend, tables: dict[str, pa.Table]) -> None:
    write_batch(con, LedgerBatch(**tables), tz=small_store.TIMEZONE)


def test_only_changed_customers_are_rebuilt(small_ledger: BaseBackend) -> None:
    con = small_ledger
    assert settled_on(con) == dt.date(2024, 5, 1)  # c14's o1402, 2024-05-01 00:00 Tokyo
    untouched = _facts(con, "c01", "c04", "c07")
    _write(con, CHANGES)
    # Written again: o800 (new), o801 (now #2), o1302 (cancelled), o1102 (moved); the
    # customers' other orders are unchanged and stay as they were.
    assert build_facts(con, subtract_refunds=True) == "updated 4 customer(s), 4 order(s)"
    assert _facts(con, "c08", "c13", "c11", "c10") == {
        "o800": ("c08", 1, Decimal("2500.00")),
        "o801": ("c08", 2, Decimal("4500.00")),
        "o1301": ("c13", 1, Decimal("5000.00")),
        "o1302": ("c13", None, Decimal("2000.00")),
        "o1101": ("c11", 1, Decimal("9000.00")),
        "o1102": ("c10", 1, Decimal("2000.00")),
    }
    assert _facts(con, "c01", "c04", "c07") == untouched
    assert settled_on(con) == dt.date(2024, 6, 2)  # the cancellation
    from_scratch = con.to_pyarrow(order_facts(con, subtract_refunds=True)).to_pylist()
    assert _facts(con) == {
        r["order_id"]: (r["customer_id"], r["seq"], r["amount"]) for r in from_scratch
    }
    assert _lines(con) == _lines_from_scratch(con)
    assert _lines(con)["o801-1"] == ("c08", 2, "instagram")  # its order's new position
    assert "o1302-1" in _lines(con) and _lines(con)["o1302-1"][1] is None  # cancelled
    assert build_facts(con, subtract_refunds=True) == "updated 0 customer(s), 0 order(s)"


def test_a_changed_refund_setting_rebuilds_everything(small_ledger: BaseBackend) -> None:
    con = small_ledger
    assert _facts(con, "c07")["o702"][2] == Decimal("3000.00")  # 5000 with 2000 refunded
    assert build_facts(con, subtract_refunds=False) == "rebuilt"
    assert _facts(con, "c07")["o702"][2] == Decimal("5000.00")


def test_re_importing_the_same_orders_changes_no_fact(small_ledger: BaseBackend) -> None:
    con = small_ledger
    before = _facts(con)
    _write(con, small_store.order_tables(small_store.ORDERS))
    # Every customer with an order is queued (all but c10) and every order's lines were
    # replaced: all 37 orders' lines are written again, and every fact comes out the same.
    assert build_facts(con, subtract_refunds=True) == "updated 13 customer(s), 37 order(s)"
    assert _lines(con) == _lines_from_scratch(con)
    assert _facts(con) == before


@pytest.mark.parametrize("warehouse_url", ["duckdb"], indirect=True)
def test_facts_of_an_empty_ledger_are_empty(warehouse: BaseBackend) -> None:
    assert build_facts(warehouse, subtract_refunds=True) == "rebuilt"
    assert _facts(warehouse) == {}
    assert settled_on(warehouse) is None
