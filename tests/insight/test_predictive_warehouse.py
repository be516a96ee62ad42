"""Fits over a shop's ledger, stored by fit date, and the prediction attributes as of a day —
on every engine.

Part 1: a generated shop of 80 customers (seeded). The summary the fit reads is counted a
second way here, in plain Python over the raw order rows (distinct order days in Tokyo,
cancelled orders left out), and the stored predictions are compared with the models evaluated
on that summary.

Part 2: the attributes read the latest fit on or before the day. Two fits written by hand:

    customer   fit 2024-03-31                 fit 2024-04-30
    a          churn 0.20, clv 9000, next 04-10   churn 0.70, clv 1000, next NULL
    b          churn 0.60, clv 3000, next 05-20   churn 0.10, clv 12000, next 05-05
    c          (not scored)                    churn 0.90, clv 100, next NULL
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import members_on, membership_history
from segmentry.analytics.facts import build_facts
from segmentry.analytics.predictive import fit_bgnbd, fit_gamma_gamma
from segmentry.analytics.predictive.clv import days_to_next_order, discounted_orders
from segmentry.analytics.predictive.warehouse import (
    _FIT_SCHEMA,
    ModelFit,
    _store,
    fit_dates,
    fit_shop,
    latest_fit,
)
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch

D = dt.date
TZ = "Asia/Tokyo"


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _shop(n: int = 80) -> tuple[dict[str, pa.Table], list[tuple[str, dt.datetime, int, bool]]]:
    rng = np.random.default_rng(5)
    orders: list[tuple[str, dt.datetime, int, bool]] = []  # customer, UTC time, yen, cancelled
    start = dt.datetime(2023, 1, 1, 3)
    for i in range(n):
        c = f"c{i:03d}"
        first = start + dt.timedelta(days=int(rng.integers(0, 300)))
        when, alive = first, True
        rate = rng.gamma(1.0, 1 / 40)
        dropout = rng.beta(1.0, 4.0)
        scale = rng.gamma(4.0, 300.0)  # the customer's own spend level (Gamma-Gamma's ν⁻¹)
        while alive and when < dt.datetime(2024, 3, 31):
            yen = 100 + int(rng.gamma(3.0, scale))
            orders.append((c, when, yen, bool(rng.uniform() < 0.05)))
            if rng.uniform() < 0.2:  # a second order the same Tokyo day: one transaction
                orders.append((c, when + dt.timedelta(hours=2), 1500, False))
            when += dt.timedelta(days=1 + int(rng.exponential(1 / rate)))
            alive = rng.uniform() > dropout
    customers = [{"shop_id": "s", "customer_id": f"c{i:03d}", "created_at": start}
                 for i in range(n)]
    rows = [{"shop_id": "s", "order_id": f"o{k}", "customer_id": c, "processed_at": t,
             "total": Decimal(yen).quantize(Decimal("0.01")), "refunded": Decimal("0.00"),
             "cancelled_at": t + dt.timedelta(days=1) if cancelled else None}
            for k, (c, t, yen, cancelled) in enumerate(orders)]
    return {"customers": _table("customers", customers), "orders": _table("orders", rows)}, orders


@pytest.fixture
def shop(warehouse: BaseBackend) -> tuple[BaseBackend, list]:
    tables, orders = _shop()
    write_batch(warehouse, LedgerBatch(**tables), tz=TZ)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse, orders


def _plain_summary(orders: list, day: dt.date) -> dict[str, tuple[float, float, float, float]]:
    """(x, t_x, T, mean repeat-day value) per customer, in plain Python (Tokyo = UTC+9)."""
    per_day: dict[str, dict[dt.date, int]] = {}
    for c, t, yen, cancelled in orders:
        local = (t + dt.timedelta(hours=9)).date()
        if local > day or (cancelled and (t + dt.timedelta(days=1, hours=9)).date() <= day):
            continue
        per_day.setdefault(c, {})
        per_day[c][local] = per_day[c].get(local, 0) + yen
    out = {}
    for c, days in per_day.items():
        ordered = sorted(days)
        x = len(ordered) - 1
        m = sum(days[d] for d in ordered[1:]) / x if x else 0.0
        out[c] = (float(x), float((ordered[-1] - ordered[0]).days),
                  float((day - ordered[0]).days), m)
    return out


def test_fit_over_the_ledger_matches_plain_python(shop) -> None:
    con, orders = shop
    day = D(2024, 3, 31)
    fit = fit_shop(con, day, clv_months=6, monthly_discount=0.02)
    plain = _plain_summary(orders, day)
    ids = sorted(plain)
    x, t_x, T, m = (np.array([plain[c][k] for c in ids]) for k in range(4))
    bg = fit_bgnbd(x, t_x, T)
    gg = fit_gamma_gamma(x, m)
    assert fit.customers == len(ids)
    assert fit.repeat_customers == int((x > 0).sum())
    for mine, theirs in ((fit.r, bg.r), (fit.alpha, bg.alpha), (fit.a, bg.a), (fit.b, bg.b),
                         (fit.p, gg.p), (fit.q, gg.q), (fit.gamma, gg.gamma)):
        assert mine == pytest.approx(theirs, rel=1e-3)
    stored = con.table("customer_predictions").to_pyarrow().to_pandas().set_index("customer_id")
    stored = stored.loc[ids]
    assert (stored["fit_date"] == day).all()
    np.testing.assert_allclose(stored["p_alive"], bg.p_alive(x, t_x, T), rtol=1e-3)
    np.testing.assert_allclose(stored["churn_probability"], 1 - stored["p_alive"], rtol=1e-12)
    np.testing.assert_allclose(stored["expected_orders_90d"],
                               bg.expected_orders(90, x, t_x, T), rtol=1e-3)
    np.testing.assert_allclose(stored["expected_spend"], gg.expected_spend(x, m), rtol=1e-3)
    clv = discounted_orders(bg, x, t_x, T, months=6, monthly_discount=0.02) * gg.expected_spend(
        x, m)
    np.testing.assert_allclose(stored["predicted_clv"], clv, rtol=1e-3)
    # The next order day: the stage interpolates a weekly table; exact bisection per customer.
    exact = days_to_next_order(bg, x, t_x, T)
    got = [(d - day).days if d is not None else np.nan for d in stored["predicted_next_order_date"]]
    assert np.array_equal(np.isnan(exact), np.isnan(got))
    assert np.nanmax(np.abs(np.array(got) - exact)) <= 1
    assert (~np.isnan(exact)).sum() > 5
    # Refitting the same day replaces its rows; a later day adds a version.
    fit_shop(con, day)
    fit_shop(con, D(2024, 4, 30))
    assert fit_dates(con) == [day, D(2024, 4, 30)]
    assert con.table("customer_predictions").count().to_pyarrow().as_py() == len(ids) * 2
    assert latest_fit(con, D(2024, 4, 29)).fit_date == day


def _hand_fits(con: BaseBackend) -> None:
    rows = {
        D(2024, 3, 31): [("a", 0.2, 9000, D(2024, 4, 10)), ("b", 0.6, 3000, D(2024, 5, 20))],
        D(2024, 4, 30): [("a", 0.7, 1000, None), ("b", 0.1, 12000, D(2024, 5, 5)),
                         ("c", 0.9, 100, None)],
    }
    for day, preds in rows.items():
        fit = ModelFit(**{f.name: (day if f.name == "fit_date" else 1) for f in _FIT_SCHEMA})
        table = pa.table({
            "fit_date": pa.array([day] * len(preds), pa.date32()),
            "customer_id": [p[0] for p in preds],
            "p_alive": [1 - p[1] for p in preds], "churn_probability": [p[1] for p in preds],
            "expected_orders_90d": [1.0] * len(preds), "expected_spend": [1.0] * len(preds),
            "predicted_clv": [float(p[2]) for p in preds],
            "predicted_next_order_date": pa.array([p[3] for p in preds], pa.date32()),
        })
        _store(con, fit, table)


@pytest.fixture
def hand(warehouse: BaseBackend) -> BaseBackend:
    customers = [{"shop_id": "s", "customer_id": c, "created_at": dt.datetime(2024, 1, 1, 3)}
                 for c in "abc"]
    orders = [{"shop_id": "s", "order_id": f"o{c}", "customer_id": c,
               "processed_at": dt.datetime(2024, 1, 5, 3), "total": Decimal("1000.00"),
               "refunded": Decimal("0.00")} for c in "abc"]
    write_batch(warehouse, LedgerBatch(customers=_table("customers", customers),
                                       orders=_table("orders", orders)), tz=TZ)
    build_facts(warehouse, subtract_refunds=True)
    _hand_fits(warehouse)
    return warehouse


def _members(con: BaseBackend, query: str, day: dt.date) -> list[str]:
    condition = language.validate(query)
    return sorted(con.to_pyarrow(members_on(con, condition, day))["customer_id"].to_pylist())


CASES = [
    ("churn_probability > 0.5", D(2024, 3, 30), []),  # before the first fit: NULL
    ("churn_probability > 0.5", D(2024, 3, 31), ["b"]),
    ("churn_probability > 0.5", D(2024, 4, 29), ["b"]),
    ("churn_probability > 0.5", D(2024, 4, 30), ["a", "c"]),
    ("predicted_clv >= 3000", D(2024, 4, 15), ["a", "b"]),
    ("predicted_clv >= 3000", D(2024, 6, 1), ["b"]),
    ("predicted_next_order_date IS NULL", D(2024, 4, 1), ["c"]),
    ("predicted_next_order_date IS NULL", D(2024, 5, 1), ["a", "c"]),
    ("predicted_next_order_date <= +30d", D(2024, 4, 1), ["a"]),  # 04-10 ≤ 05-01; 05-20 not
    ("predicted_next_order_date <= +30d", D(2024, 4, 20), ["a", "b"]),  # 05-20 ≤ 05-20
    ("predicted_next_order_date <= +30d", D(2024, 4, 30), ["b"]),  # 05-05; a now NULL
    ("expected_orders_90d = 1", D(2024, 4, 30), ["a", "b", "c"]),
]


@pytest.mark.parametrize(("query", "day", "expected"), CASES)
def test_attributes_take_the_latest_fit_on_or_before_the_day(hand, query, day, expected) -> None:
    assert _members(hand, query, day) == expected


def test_membership_history_changes_on_fit_days_and_ahead_of_the_next_order(hand) -> None:
    condition = language.validate("predicted_next_order_date <= +30d")
    rows = membership_history(hand, condition, D(2024, 3, 1), D(2024, 6, 30)).to_pyarrow()
    got = sorted(zip(rows["customer_id"].to_pylist(), rows["valid_from"].to_pylist(),
                     rows["valid_to"].to_pylist(), strict=True))
    assert got == [
        ("a", D(2024, 3, 31), D(2024, 4, 30)),  # 04-10 within 30 days from the fit on
        ("b", D(2024, 4, 20), None),  # 05-20 − 30 days; then 05-05 from 04-30 on
    ]
    # Day by day, the same answer.
    for day in (D(2024, 4, 19), D(2024, 4, 20), D(2024, 4, 29), D(2024, 4, 30)):
        members = _members(hand, "predicted_next_order_date <= +30d", day)
        expected = {s[0] for s in got if s[1] <= day and (s[2] is None or day < s[2])}
        assert members == sorted(expected)
