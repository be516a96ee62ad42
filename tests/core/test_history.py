"""Membership history on the small store: stretches worked out by hand, and consistency.

``membership_history`` evaluates a condition only at change points (events shifted by the
offsets a query implies). The hand-worked stretches are the independent check; the day-by-day
comparison is a **consistency** check between two of our own code paths (change points vs
evaluating every day), which catches missing offsets and wrong stretch boundaries.
"""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.asof import Facts
from segmentry.analytics.compiler import evaluate
from segmentry.analytics.evaluation import members_on, membership_history

D = dt.date
START, END = D(2023, 10, 1), D(2024, 6, 30)

# (query, customer, stretches [valid_from, valid_to)) over START..END, worked out by hand from
# fixtures/small_store.py; None: still a member on END.
STRETCHES = [
    # c03 orders 01-15, 03-02, 04-10: last order older than 30 days from 31 days after each.
    ("last_order_date < -30d", "c03",
     [(D(2024, 2, 15), D(2024, 3, 2)), (D(2024, 4, 2), D(2024, 4, 10)), (D(2024, 5, 11), None)]),
    # c04's o401 (02-03) is cancelled at 00:10 on 02-10 Tokyo time; o402 on 02-15.
    ("number_of_orders >= 1", "c04", [(D(2024, 2, 3), D(2024, 2, 10)), (D(2024, 2, 15), None)]),
    # c05's first order is 2024-03-01 15:30 UTC, the 2nd of March in Tokyo.
    ("number_of_orders >= 1", "c05", [(D(2024, 3, 2), None)]),
    # 'line' seen 2024-04-29 16:00 UTC = 04-30 01:00 Tokyo.
    ("customer_tags CONTAINS 'line'", "c12", [(D(2024, 4, 30), None)]),
    ("customer_tags CONTAINS 'line'", "c13", [(D(2024, 1, 10), D(2024, 3, 15))]),
    ("customer_tags CONTAINS 'vip'", "c01", [(D(2024, 4, 1), None)]),
    # 3rd order 12-05, last order 01-05: lapsed from 01-05 + 91 days.
    ("number_of_orders >= 3 AND last_order_date < -90d", "c09", [(D(2024, 4, 5), None)]),
    # First order 04-30 (23:00 Tokyo); "within the last 30 days" until 05-29.
    ("first_order_date > -30d", "c14", [(D(2024, 4, 30), D(2024, 5, 30))]),
    # The first order is instagram until the cancellation, then o402 (google).
    ("first_order_channel = 'instagram'", "c04", [(D(2024, 2, 3), D(2024, 2, 10))]),
    # c03's checkout of 04-05 is completed on 04-10; c04's of 02-20 on 03-20.
    ("abandoned_checkout_date >= 2024-04-01", "c03", [(D(2024, 4, 5), D(2024, 4, 10))]),
    ("abandoned_checkout_date IS NOT NULL", "c04", [(D(2024, 2, 20), D(2024, 3, 20))]),
    # Shopify's statistics as synced: c01 LOYAL from 03-01, CHAMPIONS from 04-15.
    ("rfm_group = 'LOYAL'", "c01", [(D(2024, 3, 1), D(2024, 4, 15))]),
    ("predicted_spend_tier = 'HIGH'", "c01", [(D(2024, 4, 15), None)]),
    # Store credit: c05's credit of 02-01 expires 04-15 (a week ahead from 04-08; gone 04-16);
    # c01's debit of 04-10 leaves 1500; c09's account counts from its read on 04-28.
    ("store_credit_accounts MATCHES (next_expiry_date <= +7d)", "c05",
     [(D(2024, 4, 8), D(2024, 4, 16))]),
    ("store_credit_accounts MATCHES (balance >= 2000)", "c01",
     [(D(2024, 3, 1), D(2024, 4, 10))]),
    ("store_credit_accounts MATCHES (balance > 0)", "c09", [(D(2024, 4, 28), None)]),
    ("store_credit_accounts MATCHES (last_credit_date >= -7d)", "c12",
     [(D(2024, 4, 25), D(2024, 5, 3))]),
]


def test_hand_worked_stretches(small_ledger: BaseBackend, subtests: pytest.Subtests) -> None:
    con = small_ledger
    for query, customer, expected in STRETCHES:
        with subtests.test(msg=f"{query} [{customer}]"):
            history = membership_history(con, language.validate(query), START, END)
            rows = con.to_pyarrow(history.filter(history.customer_id == customer)).to_pylist()
            assert sorted((r["valid_from"], r["valid_to"]) for r in rows) == expected


CONSISTENCY_QUERIES = [
    "first_order_date > -2w OR last_order_date BETWEEN -1m AND -10d",
    "products_purchased MATCHES (order_number = 1, channel = 'instagram')",
    "orders_placed(date: -3w) = true AND NOT customer_tags CONTAINS 'line'",
    "number_of_orders >= 2 AND days_since_last_order > 20",
    "abandoned_checkout_date > -2w",
    "store_credit_accounts MATCHES (balance >= 700, next_expiry_date <= +8w)",
]
# 60 days holding a cancellation (02-10), a first order across midnight UTC (03-02), a tag
# removal (03-15) and the end of a leap February (for -1m).
RANGE_START, RANGE_END = D(2024, 2, 1), D(2024, 3, 31)
SPOT_DAYS = (D(2024, 2, 10), D(2024, 3, 2))  # the cancellation; the midnight order


def test_history_is_consistent_with_evaluating_every_day(small_ledger: BaseBackend) -> None:
    """Change-point history == the condition evaluated on each of 60 days (consistency).

    Every day is evaluated in one query by the compiler's ``evaluate`` over a dense grid of
    (customer, day) points (history evaluates only at change points); ``members_on``, the
    single-day path, is checked against the grid on the cancellation and midnight days (a query
    per day per condition would cost minutes on two engines).
    """
    con = small_ledger
    days = [RANGE_START + dt.timedelta(days=i) for i in range((RANGE_END - RANGE_START).days + 1)]
    assert len(days) == 60
    grid = con.table("customers").select("customer_id").cross_join(ibis.memtable({"day": days}))
    for query in CONSISTENCY_QUERIES:
        condition = language.validate(query)
        evaluated = evaluate(Facts.of(con), grid, condition)
        every_day = {
            (r["customer_id"], _date(r["day"]))
            for r in con.to_pyarrow(evaluated.filter(evaluated.member)).to_pylist()
        }
        stretches = con.to_pyarrow(membership_history(con, condition, RANGE_START, RANGE_END))
        from_history = {
            (r["customer_id"], day)
            for r in stretches.to_pylist()
            for day in days
            if r["valid_from"] <= day and (r["valid_to"] is None or day < r["valid_to"])
        }
        assert every_day, f"{query}: nobody is ever a member, the comparison would be empty"
        assert from_history == every_day, query
        for day in SPOT_DAYS:
            one_day = con.to_pyarrow(members_on(con, condition, day))["customer_id"].to_pylist()
            assert sorted(one_day) == sorted(c for c, d in every_day if d == day), (query, day)


def _date(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
