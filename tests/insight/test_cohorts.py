"""Cohorts on the tiny store (cohorts_fixtures.py), worked out by hand, on DuckDB and
PostgreSQL; and on the small store against a second computation in pandas over the raw rows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from ibis.backends import BaseBackend

from core.fixtures import small_store
from segmentry.analytics.cohorts import cohort_table
from segmentry.analytics.facts import build_facts
from segmentry.app.insight.cohorts import cohorts, cohorts_csv
from segmentry.app.workspace import Workspace
from segmentry.core.errors import SegmentError
from segmentry.ledger.store import LedgerBatch, write_batch

from . import cohorts_fixtures as tiny

D = Decimal


@pytest.fixture
def tiny_ledger(warehouse: BaseBackend) -> BaseBackend:
    write_batch(warehouse, LedgerBatch(**tiny.tables()), tz=tiny.TIMEZONE)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse


def _cells(table: object) -> dict[tuple[str, str], tuple[int, list[float], list[Decimal]]]:
    return {(c.group, c.cohort): (c.customers, c.retention, c.revenue_per_customer)
            for c in table.cohorts}  # type: ignore[attr-defined]


def test_store_cohorts_by_hand(tiny_ledger: BaseBackend) -> None:
    cells = _cells(cohort_table(tiny_ledger, tiny.DAY))
    # a6 from 2023-05: 4500 in months 0 (May), 1 (June) and 12 (May 2024); 13 = June 2024.
    a6 = [D(4500)] + [D(9000)] * 11 + [D(13500)] * 2
    assert cells[("all", "2023-05")] == (
        1, [1.0, 1.0] + [0.0] * 10 + [1.0, 0.0], a6)
    # a1 and a2: month 0 = 5000 + 2500 + 4500; month 1 (Feb) a2's 5000 less 1000 refunded;
    # month 2 (Mar) a1's 2000. Per customer: 6000, 8000, 9000, then flat through June.
    assert cells[("all", "2024-01")] == (
        2, [1.0, 0.5, 0.5, 0.0, 0.0, 0.0],
        [D(6000), D(8000), D(9000), D(9000), D(9000), D(9000)])
    # a3: the cancelled order of 02-01 is not their first; their serum of 02-14 is.
    assert cells[("all", "2024-02")] == (1, [1.0, 0.0, 0.0, 0.0, 0.0], [D(5000)] * 5)
    # a4 ordered on 03-31 UTC, 04-01 in Tokyo: an April cohort. a5 never ordered.
    assert cells[("all", "2024-04")] == (1, [1.0, 0.0, 0.0], [D(3000)] * 3)
    assert set(cells) == {("all", m) for m in ("2023-05", "2024-01", "2024-02", "2024-04")}


def test_split_by_first_order_fields(tiny_ledger: BaseBackend) -> None:
    by_channel = _cells(cohort_table(tiny_ledger, tiny.DAY, by="channel"))
    assert {k: v[0] for k, v in by_channel.items()} == {
        ("google", "2023-05"): 1, ("instagram", "2024-01"): 1, ("google", "2024-01"): 1,
        ("instagram", "2024-02"): 1, ("direct", "2024-04"): 1}
    # a1 (instagram): 7500 in January, nothing in February, 2000 in March.
    assert by_channel[("instagram", "2024-01")][1:] == (
        [1.0, 0.0, 1.0, 0.0, 0.0, 0.0], [D(7500), D(7500), D(9500), D(9500), D(9500), D(9500)])
    codes = _cells(cohort_table(tiny_ledger, tiny.DAY, by="discount_code"))
    assert {k: v[0] for k, v in codes.items()} == {
        ("(none)", "2023-05"): 1, ("WELCOME10", "2024-01"): 1, ("(none)", "2024-01"): 1,
        ("(none)", "2024-02"): 1, ("(none)", "2024-04"): 1}
    # a2's first order holds a cleanser and a shampoo: they are in both groups.
    types = _cells(cohort_table(tiny_ledger, tiny.DAY, by="product_type"))
    assert {k: v[0] for k, v in types.items()} == {
        ("Serum", "2023-05"): 1, ("Serum", "2024-01"): 1, ("Cleanser", "2024-01"): 1,
        ("Shampoo", "2024-01"): 1, ("Serum", "2024-02"): 1, ("Lotion", "2024-04"): 1}
    assert types[("Cleanser", "2024-01")][2][:3] == [D(4500), D(8500), D(8500)]


def test_as_of_an_earlier_day_and_months_cap(tiny_ledger: BaseBackend) -> None:
    # On 2024-02-12 a3 has only the order cancelled the day after... cancelled 02-03: none
    # valid, so no February cohort; a2's refund is already made.
    cells = _cells(cohort_table(tiny_ledger, dt.date(2024, 2, 12), months=1))
    assert cells[("all", "2024-01")] == (2, [1.0, 0.5], [D(6000), D(8000)])
    assert ("all", "2024-02") not in cells
    assert len(cells[("all", "2023-05")][1]) == 2  # capped at month 1


def test_inside_a_segment(tmp_path: Path, warehouse_url: str) -> None:
    ws = tiny.workspace(tmp_path / "shop", warehouse_url)
    try:
        ws.add_segment("repeaters", "number_of_orders >= 2")
        table = cohorts(ws, segment="repeaters")
        assert table.day == tiny.DAY
        # a1, a2 (January) and a6 (May 2023) have 2+ orders; a3 and a4 do not.
        assert {(c.cohort, c.customers) for c in table.cohorts} == {
            ("2023-05", 1), ("2024-01", 2)}
        csv_text = cohorts_csv(table).splitlines()
        assert csv_text[0] == ("group,cohort,customers,month,active,retention,revenue,"
                               "revenue_per_customer")
        assert "all,2024-01,2,1,1,0.5,16000.00,8000.00" in csv_text
        with pytest.raises(SegmentError):
            cohorts(ws, segment="repeaters", day=tiny.DAY + dt.timedelta(days=1))
    finally:
        ws.close()


# ------------------------------------------------------------------ a second computation


_Cells = dict[tuple[str, str], tuple[int, list[float], list[Decimal]]]


def _pandas_cohorts(day: dt.date, by: str | None) -> _Cells:
    """Cohorts from the small store's raw order rows, with pandas (no facts, no Ibis)."""
    raw = pd.DataFrame(small_store.ORDERS)
    raw["local"] = (raw.processed_at + pd.Timedelta(hours=9)).dt.date
    cancelled_local = (raw.cancelled_at + pd.Timedelta(hours=9)).dt.date
    valid = raw[(raw.local <= day) & ~(cancelled_local <= day)].copy()
    totals = {o["order_id"]: sum(small_store.PRODUCTS[p][6] * q for p, q in o["lines"])
              for o in small_store.ORDERS}
    valid["amount"] = [Decimal(totals[i] - r)
                       for i, r in zip(valid.order_id, valid.refunded, strict=True)]
    valid["month"] = [d.year * 12 + d.month - 1 for d in valid.local]
    valid = valid.sort_values(["customer_id", "processed_at", "order_id"])
    first = valid.groupby("customer_id").head(1).set_index("customer_id")
    now = day.year * 12 + day.month - 1
    out = {}
    for key, grp in first.groupby(first.channel if by == "channel" else lambda _: "all"):
        for cohort, members in grp.groupby("month"):
            mine = valid[valid.customer_id.isin(members.index)]
            n = len(members)
            ret, rev, total = [], [], Decimal(0)
            for k in range(now - cohort + 1):
                month = mine[mine.month == cohort + k]
                ret.append(round(month.customer_id.nunique() / n, 4))
                total += sum(month.amount, Decimal(0))
                rev.append((total / n).quantize(Decimal("0.01")))
            out[(key, f"{cohort // 12:04d}-{cohort % 12 + 1:02d}")] = (n, ret, rev)
    return out


@pytest.mark.parametrize("day", [dt.date(2024, 5, 31), dt.date(2024, 2, 15)])
@pytest.mark.parametrize("by", [None, "channel"])
def test_small_store_matches_pandas(small_ledger: BaseBackend, day: dt.date,
                                    by: str | None) -> None:
    assert _cells(cohort_table(small_ledger, day, by=by)) == _pandas_cohorts(day, by)


@pytest.fixture
def small_ledger(warehouse: BaseBackend) -> Iterator[BaseBackend]:
    write_batch(warehouse, LedgerBatch(**small_store.tables()), tz=small_store.TIMEZONE)
    build_facts(warehouse, subtract_refunds=True)
    yield warehouse


def test_workspace_without_orders(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "empty")
    try:
        assert cohorts(ws).cohorts == []
    finally:
        ws.close()
