"""First-product rows on the tiny store (cohorts_fixtures.py), worked out by hand on DuckDB and
PostgreSQL, a pandas recomputation on the small store, and the segment made from a row."""

from __future__ import annotations

import datetime as dt
import statistics
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from core.fixtures import small_store
from segmentry.app.insight.first_products import (
    first_products,
    first_products_csv,
    make_segment,
)
from segmentry.app.workspace import Workspace

from . import cohorts_fixtures as tiny


@pytest.fixture
def tiny_ws(tmp_path: Path, warehouse_url: str) -> Workspace:
    ws = tiny.workspace(tmp_path / "shop", warehouse_url)
    yield ws  # type: ignore[misc]
    ws.close()


def test_products_by_hand(tiny_ws: Workspace) -> None:
    result = first_products(tiny_ws, "product")
    assert result.day == tiny.DAY
    rows = {r.value: r for r in result.rows}
    assert {v: r.customers for v, r in rows.items()} == {
        "1001": 2, "1002": 1, "1003": 1, "1004": 1, "1005": 1}
    serum = rows["1001"]  # a1 (2nd order 15 days later), a3 (none)
    assert serum.label == "Vitamin C Serum"
    assert serum.f2_rate == {30: 0.5, 60: 0.5, 90: 0.5, 365: None}
    assert serum.f2_eligible == {30: 2, 60: 2, 90: 2, 365: 0}
    assert serum.median_days_to_second == 15.0
    assert serum.ltv_12m is None
    hydra = rows["1002"]  # a6 only: a3's Hydra Serum order was cancelled
    assert hydra.f2_rate == {30: 0.0, 60: 1.0, 90: 1.0, 365: 1.0}
    assert hydra.median_days_to_second == 40.0
    # 4500 + 4500; the 3rd order is 366 days after the first (2024 is a leap year).
    assert (hydra.ltv_12m, hydra.ltv_customers) == (Decimal("9000.00"), 1)
    # a4's first order (04-01 in Tokyo) is exactly 90 days before 06-30: eligible for 90.
    assert rows["1005"].f2_eligible == {30: 1, 60: 1, 90: 1, 365: 0}
    assert rows["1005"].f2_rate[90] == 0.0
    assert sorted(result.second) == [
        ("1001", "1003", "Foam Cleanser", 1), ("1002", "1002", "Hydra Serum", 1),
        ("1003", "1001", "Vitamin C Serum", 1), ("1004", "1001", "Vitamin C Serum", 1)]


def test_types_and_tags_by_hand(tiny_ws: Workspace) -> None:
    types = {r.value: r for r in first_products(tiny_ws, "product_type").rows}
    serum = types["Serum"]  # a1 (gap 15), a3 (none), a6 (gap 40)
    assert serum.customers == 3
    assert serum.f2_rate == {30: 0.3333, 60: 0.6667, 90: 0.6667, 365: 1.0}
    assert serum.median_days_to_second == 27.5
    result = first_products(tiny_ws, "product_type")
    rows, columns, cells = result.matrix()
    assert next(r.value for r in rows) == "Serum"
    assert dict(zip([c[0] for c in columns], cells[0], strict=True)) == {
        "Serum": 1, "Cleanser": 1}
    tags = {r.value: r.customers for r in first_products(tiny_ws, "tag").rows}
    assert tags == {"serum": 3, "vitamin-c": 2, "cleanser": 1, "hair": 1, "body": 1}


@pytest.mark.parametrize(("dimension", "value", "expected"), [
    ("product", "1001", {"a1", "a3"}),
    ("product", "1002", {"a6"}),
    ("product_type", "Serum", {"a1", "a3", "a6"}),
    ("tag", "vitamin-c", {"a1", "a3"}),
])
def test_segment_from_a_row_has_the_rows_customers(
    tiny_ws: Workspace, dimension: str, value: str, expected: set[str]
) -> None:
    result = first_products(tiny_ws, dimension)
    row = next(r for r in result.rows if r.value == value)
    segment = make_segment(tiny_ws, dimension, value, display_name=f"初回 {value}")
    members = set(tiny_ws.members(segment.key).column("customer_id").to_pylist())
    assert members == expected
    assert len(members) == row.customers
    assert segment.query == row.query


def test_csv(tiny_ws: Workspace) -> None:
    lines = first_products_csv(first_products(tiny_ws, "product")).splitlines()
    assert lines[0].startswith("value,label,customers,f2_rate_30d,f2_rate_60d")
    assert lines[1].startswith("1001,Vitamin C Serum,2,0.5,0.5,0.5,,2,2,2,0,15.0,,0,")


def _pandas_rows(day: dt.date) -> dict[str, tuple[int, dict[int, float | None], float | None]]:
    """Per first-order product of the small store: customers, F2 rates, median gap; from the
    raw rows with pandas."""
    raw = pd.DataFrame(small_store.ORDERS)
    raw["local"] = (raw.processed_at + pd.Timedelta(hours=9)).dt.date
    cancelled = (raw.cancelled_at + pd.Timedelta(hours=9)).dt.date
    valid = raw[(raw.local <= day) & ~(cancelled <= day)]
    valid = valid.sort_values(["customer_id", "processed_at", "order_id"])
    out = {}
    per_customer = {c: list(g.itertuples()) for c, g in valid.groupby("customer_id")}
    products: dict[str, list[str]] = {}
    for c, orders in per_customer.items():
        for pid in {p for p, _ in orders[0].lines}:
            products.setdefault(pid, []).append(c)
    for pid, customers in products.items():
        gaps = {c: ((per_customer[c][1].local - per_customer[c][0].local).days
                    if len(per_customer[c]) > 1 else None) for c in customers}
        rates: dict[int, float | None] = {}
        for n in (30, 60, 90, 365):
            ok = [c for c in customers if (day - per_customer[c][0].local).days >= n]
            hit = [c for c in ok if gaps[c] is not None and gaps[c] <= n]
            rates[n] = round(len(hit) / len(ok), 4) if ok else None
        known = [g for g in gaps.values() if g is not None]
        out[pid] = (len(customers), rates, float(statistics.median(known)) if known else None)
    return out


def test_small_store_matches_pandas(tmp_path: Path, warehouse_url: str) -> None:
    day = dt.date(2024, 5, 31)
    ws = Workspace.create(tmp_path / "small", warehouse_url=warehouse_url)
    try:
        ws.import_tables(small_store.tables())
        ws.run(day)
        found = {r.value: (r.customers, r.f2_rate, r.median_days_to_second)
                 for r in first_products(ws, "product").rows}
        assert found == _pandas_rows(day)
    finally:
        ws.close()
