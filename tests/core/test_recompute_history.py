"""Recomputing a segment's history after a late import: recorded days are not rewritten by the
import (nor by an unchanged edit), and ``recompute`` rebuilds them from the ledger as it is.

The store (Tokyo; every order at 12:00 local), imported in two goes:

    first   d  created 2024-03-03, no orders
            e  created 2024-03-20, order 2024-03-21
    late    a  no creation date (Shopify's customers export), orders 2024-03-01 and 03-10
            b  no creation date, order 2024-03-05, cancelled 2024-03-08
            c  no creation date, no orders

Before the late import the store starts on 03-03 (d's creation). After it, on 03-01 (a's first
order); an undated customer counts from their first order, or with none from the store's first
day. Customers with no valid order (``number_of_orders = 0``), worked out by hand:

    day     before the late import   after it
    03-01   (not in the history)     c                  (a has an order)
    03-04   d                        c d                (b not yet: first order 03-05)
    03-06   d                        c d                (b has an order)
    03-10   d                        b c d              (b's order cancelled 03-08)
    03-22   d                        b c d              (e ordered 03-21)
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
from typer.testing import CliRunner

from segmentry.activation.shopify import tags
from segmentry.analytics import membership
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app

D = dt.date
LAST_DAY = D(2024, 3, 25)
BEFORE = {D(2024, 3, 4): {"d"}, D(2024, 3, 6): {"d"}, D(2024, 3, 10): {"d"},
          D(2024, 3, 22): {"d"}}
AFTER = {D(2024, 3, 1): {"c"}, D(2024, 3, 4): {"c", "d"}, D(2024, 3, 6): {"c", "d"},
         D(2024, 3, 10): {"b", "c", "d"}, D(2024, 3, 22): {"b", "c", "d"}}


def _noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(3, 0))  # 12:00 Tokyo, as naive UTC


def _tables(created: dict[str, dt.date | None],
            orders: list[tuple[str, str, dt.date, dt.date | None]]) -> dict[str, pa.Table]:
    ts = pa.timestamp("us")
    return {
        "customers": pa.table({
            "shop_id": ["s"] * len(created),
            "customer_id": list(created),
            "created_at": pa.array([_noon(d) if d else None for d in created.values()], ts),
        }),
        "orders": pa.table({
            "shop_id": ["s"] * len(orders),
            "order_id": [o[0] for o in orders],
            "customer_id": [o[1] for o in orders],
            "processed_at": pa.array([_noon(o[2]) for o in orders], ts),
            "cancelled_at": pa.array([_noon(o[3]) if o[3] else None for o in orders], ts),
            "total": pa.array([Decimal(1000)] * len(orders), pa.decimal128(18, 2)),
        }),
    }


FIRST = _tables({"d": D(2024, 3, 3), "e": D(2024, 3, 20)}, [("o4", "e", D(2024, 3, 21), None)])
LATE = _tables({"a": None, "b": None, "c": None},
               [("o1", "a", D(2024, 3, 1), None), ("o2", "a", D(2024, 3, 10), None),
                ("o3", "b", D(2024, 3, 5), D(2024, 3, 8))])


def _no_orders(ws: Workspace, days: dict[dt.date, set[str]]) -> None:
    """The segment's members and its recorded customer count, each day, are the hand count."""
    counts = ws.metrics("no-orders").set_index("day")["customers"]
    for day, expected in days.items():
        assert set(ws.members("no-orders", as_of=day)["customer_id"].to_pylist()) == expected, day
        assert int(counts.loc[day]) == len(expected), day


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.create(tmp_path / "shop")
    ws.import_tables(FIRST)
    ws.run(LAST_DAY)
    ws.add_segment("no-orders", "number_of_orders = 0", display_name="未購入")
    _no_orders(ws, BEFORE)
    assert ws.segment("no-orders").history_start == D(2024, 3, 3)
    ws.import_tables(LATE)
    return ws


def test_recompute_after_a_late_import(tmp_path: Path) -> None:
    with _workspace(tmp_path) as ws:
        old = ws.segment("no-orders")
        # The import does not rewrite recorded days, and neither does an unchanged edit.
        ws.edit_segment("no-orders", old.query)
        _no_orders(ws, BEFORE)

        new = ws.recompute_segment("未購入")

        assert (new.version, new.query) == (old.version, old.query)
        assert new.history_start == D(2024, 3, 1)
        assert new.computed_through == LAST_DAY
        assert new.membership_key != old.membership_key
        # the old rows are removed
        assert membership.membership_keys(ws.warehouse) == {new.membership_key}
        _no_orders(ws, AFTER)


def test_cli_recompute_all(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    ws.add_segment("buyers", "number_of_orders >= 1")
    folder = str(ws.folder)
    ws.close()
    result = CliRunner().invoke(app, ["segments", "recompute", "--all", "-w", folder])
    assert result.exit_code == 0, result.output
    assert "Recomputed 未購入 (key no-orders): 3 customers on 2024-03-25" in result.output
    assert "Recomputed buyers: 2 customers on 2024-03-25" in result.output  # a and e
    with Workspace.open(folder) as again:
        _no_orders(again, AFTER)
    refused = CliRunner().invoke(app, ["segments", "recompute", "-w", folder])
    assert refused.exit_code == 2 and "Give a segment NAME or --all" in refused.output


def test_rename_then_recompute_on_each_store(warehouse_url: str, tmp_path: Path) -> None:
    """The same on DuckDB with a SQLite state store and on PostgreSQL for both."""
    postgres = not warehouse_url.startswith("duckdb")
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url if postgres else None)
    if postgres:  # NOTE: before the state store is first opened
        ws.settings.state.url = "postgresql+psycopg://" + warehouse_url.split("://", 1)[1]
    with ws:
        ws.import_tables(FIRST)
        ws.run(LAST_DAY)
        ws.add_segment("no-orders", "number_of_orders = 0", display_name="未購入")
        ws.add_segment("ordered", "NOT segments CONTAINS 'no-orders'")
        tags.bind(ws, "no-orders", "seg-no-orders")
        ws.import_tables(LATE)

        renamed = ws.rename_segment("no-orders", "zero-orders")
        assert ws.segment("ordered").query == "NOT segments CONTAINS 'zero-orders'"
        assert tags.managed_tags_of(ws.state, "zero-orders") == ("seg-no-orders", [])
        new = ws.recompute_segment("zero-orders")
        assert new.membership_key != renamed.membership_key and new.history_start == D(2024, 3, 1)
        counts = ws.metrics("zero-orders").set_index("day")["customers"]
        assert {d: int(counts.loc[d]) for d in AFTER} == {d: len(m) for d, m in AFTER.items()}
