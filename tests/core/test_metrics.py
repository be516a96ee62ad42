"""Daily metrics of segments on the small store, worked out by hand, on every engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from segmentry.analytics.membership import stretches
from segmentry.analytics.metrics import daily_metrics
from segmentry.app.workspace import Workspace

D = dt.date

# (segment query, day, metrics) by hand from fixtures/small_store.py.
ROWS = [
    # Tokyo on 02-01: c01 (1 order, 5000), c04 (created today, no order), c06 (1, 4500),
    # c13 (2: 5000 + 2000, 18 days apart).
    ("customer_cities CONTAINS 'Tokyo'", D(2024, 2, 1), {
        "customers": 4, "repeat_rate": "0.2500", "ltv": "4125.00", "aov": "4333.33",
        "avg_orders": "1.0000", "purchase_interval": "18.00", "revenue": "0.00", "orders": 0,
        "joined": 1, "left": 0,
    }),
    # 02-05: c01's 2nd order (2500) today; c04's o401 counts (net 0: refunded in full).
    ("customer_cities CONTAINS 'Tokyo'", D(2024, 2, 5), {
        "customers": 4, "repeat_rate": "0.5000", "ltv": "4750.00", "aov": "2937.50",
        "avg_orders": "1.5000", "purchase_interval": "22.00", "revenue": "2500.00", "orders": 1,
        "joined": 0, "left": 0,
    }),
    # 02-12: o401 was cancelled on 02-10, so c04 is a member without orders again.
    ("customer_cities CONTAINS 'Tokyo'", D(2024, 2, 12), {
        "customers": 4, "repeat_rate": "0.5000", "ltv": "4750.00", "aov": "3916.67",
        "avg_orders": "1.2500", "purchase_interval": "22.00", "revenue": "0.00", "orders": 0,
        "joined": 0, "left": 0,
    }),
    # 04-05: c06 (4 orders, 15000, 82 days), c07 joins with its 4th order today (3000; its
    # 2nd order had 2000 of 5000 refunded: 13500 net, 40 days), c09 (4, 32000, 92 days).
    ("number_of_orders >= 4", D(2024, 4, 5), {
        "customers": 3, "repeat_rate": "1.0000", "ltv": "20166.67", "aov": "5041.67",
        "avg_orders": "4.0000", "purchase_interval": "23.78", "revenue": "3000.00", "orders": 1,
        "joined": 1, "left": 0,
    }),
]


def test_metrics_match_the_hand_worked_rows(small_workspace: Workspace) -> None:
    ws = small_workspace
    ws.add_segment("tokyo", "customer_cities CONTAINS 'Tokyo'")
    ws.add_segment("four-plus", "number_of_orders >= 4")
    names = {"customer_cities CONTAINS 'Tokyo'": "tokyo", "number_of_orders >= 4": "four-plus"}
    for query, day, expected in ROWS:
        stored = ws.metrics(names[query]).set_index("day").loc[day].to_dict()
        got = {k: stored[k] for k in expected}
        want = {k: Decimal(v) if isinstance(v, str) else v for k, v in expected.items()}
        assert got == want, (query, day)


def test_a_day_without_members_has_no_ratios(small_duckdb_workspace: Workspace) -> None:
    """Nobody has 4 orders before 2024-01-05 (c09's 4th): the ratios are missing (None).

    (Reading the stored rows back is engine-independent: DuckDB only.)
    """
    ws = small_duckdb_workspace
    ws.add_segment("four-plus", "number_of_orders >= 4")
    row = ws.metrics("four-plus").set_index("day").loc[D(2024, 1, 4)].to_dict()
    assert (row["customers"], row["orders"], row["revenue"]) == (0, 0, Decimal("0.00"))
    ratios = {k: row[k] for k in ("repeat_rate", "ltv", "aov", "avg_orders", "purchase_interval")}
    assert ratios == dict.fromkeys(ratios), ratios


def test_a_short_range_reads_as_the_same_days_of_the_whole_history(
    small_workspace: Workspace,
) -> None:
    """The hand-worked rows again, each computed over a short range of its own (members who
    do not order or cancel in the range read their statistics in one aggregate, the others by
    state stretches): the same numbers as in the full history."""
    ws = small_workspace
    con = ws.warehouse
    ws.add_segment("tokyo", "customer_cities CONTAINS 'Tokyo'")
    ws.add_segment("four-plus", "number_of_orders >= 4")
    names = {"customer_cities CONTAINS 'Tokyo'": "tokyo", "number_of_orders >= 4": "four-plus"}
    for query, day, expected in ROWS:
        ledger = ws.segment(names[query]).membership_key
        assert ledger is not None
        for first in (day, day - dt.timedelta(days=3)):
            frame = daily_metrics(con, stretches(con, ledger), first, day)
            got = {k: frame.set_index("day").loc[day].to_dict()[k] for k in expected}
            want = {k: Decimal(v) if isinstance(v, str) else v for k, v in expected.items()}
            assert got == want, (query, first, day)
