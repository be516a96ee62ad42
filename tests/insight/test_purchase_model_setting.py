"""The setting ``models.purchase_model``: the daily fit with Pareto/NBD or MBG/NBD in place of
BG/NBD — on every engine.

A generated shop of 240 customers (seeded), most of whom have bought once (the shops where
BG/NBD's P(alive) = 1 for every one-time buyer hides them from "at risk" segments). Each
customer's (x, t_x, T) is counted a second way here, with pandas over the raw order rows
(distinct order days in Tokyo, cancelled orders left out), and the stored predictions are
compared with the library's models evaluated on those counts: P(alive) and expected orders with
the models' own methods, the next order day by a plain bisection on their expected orders.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import members_on
from segmentry.analytics.facts import build_facts
from segmentry.analytics.predictive import (
    MBGNBD,
    ParetoNBD,
    fit_mbgnbd,
    fit_pareto_nbd,
)
from segmentry.analytics.predictive.clv import DAYS_PER_MONTH
from segmentry.analytics.predictive.warehouse import (
    fit_dates,
    fit_shop,
    latest_fit,
    read_fit,
)
from segmentry.app.insight.predictive import refit_if_due, show
from segmentry.core.config import CONFIG_FILE, ModelsSettings, Settings, load
from segmentry.core.context import Context
from segmentry.core.errors import ConfigError
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch

D = dt.date
TZ = "Asia/Tokyo"
DAY = D(2024, 3, 31)
MODELS = {"pareto_nbd": (ParetoNBD, fit_pareto_nbd), "mbgnbd": (MBGNBD, fit_mbgnbd)}


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _orders(n: int = 240) -> pd.DataFrame:
    """customer, processed_at (UTC), yen, cancelled: buying at a Poisson rate until an
    exponential lifetime ends (Pareto/NBD's story), most lifetimes short."""
    rng = np.random.default_rng(11)
    rows = []
    start = dt.datetime(2023, 1, 1, 3)
    for i in range(n):
        c = f"c{i:03d}"
        when = start + dt.timedelta(days=int(rng.integers(0, 420)), hours=int(rng.integers(0, 20)))
        end = when + dt.timedelta(days=float(rng.exponential(rng.gamma(0.6, 120.0))))
        rate = rng.gamma(1.2, 1 / 45)  # orders per day while alive
        while when <= min(end, dt.datetime(2024, 3, 31, 14)):
            rows.append((c, when, 1000 + int(rng.gamma(2.0, 1500.0)), bool(rng.uniform() < 0.06)))
            if rng.uniform() < 0.15:  # a second order the same Tokyo day: one transaction
                rows.append((c, when + dt.timedelta(hours=1), 800, False))
            when += dt.timedelta(days=1 + float(rng.exponential(1 / rate)))
    return pd.DataFrame(rows, columns=["customer_id", "processed_at", "yen", "cancelled"])


def _write(con: BaseBackend, orders: pd.DataFrame) -> None:
    customers = [{"shop_id": "s", "customer_id": c, "created_at": dt.datetime(2023, 1, 1)}
                 for c in sorted(orders.customer_id.unique())]
    rows = [{"shop_id": "s", "order_id": f"o{k}", "customer_id": o.customer_id,
             "processed_at": o.processed_at.to_pydatetime(),
             "total": Decimal(int(o.yen)).quantize(Decimal("0.01")), "refunded": Decimal("0.00"),
             "cancelled_at": (o.processed_at + pd.Timedelta(hours=6)).to_pydatetime()
             if o.cancelled else None}
            for k, o in enumerate(orders.itertuples())]
    write_batch(con, LedgerBatch(customers=_table("customers", customers),
                                 orders=_table("orders", rows)), tz=TZ)
    build_facts(con, subtract_refunds=True)


def _counted(orders: pd.DataFrame, day: dt.date) -> pd.DataFrame:
    """x (distinct Tokyo order days after the first), t_x and T in days, per customer, with
    pandas over the order rows (cancelled orders are cancelled the same or the next day, all
    before ``day`` ends, so they simply do not count)."""
    kept = orders[~orders.cancelled]
    local = (kept.processed_at + pd.Timedelta(hours=9)).dt.normalize()
    days = kept.assign(local=local)[local <= pd.Timestamp(day)].groupby(
        "customer_id").local.agg(["min", "max", "nunique"])
    return pd.DataFrame({
        "x": (days["nunique"] - 1).astype(float),
        "t_x": (days["max"] - days["min"]).dt.days.astype(float),
        "T": (pd.Timestamp(day) - days["min"]).dt.days.astype(float),
    }).sort_index()


@pytest.fixture
def shop(warehouse: BaseBackend) -> tuple[BaseBackend, pd.DataFrame]:
    orders = _orders()
    _write(warehouse, orders)
    return warehouse, _counted(orders, DAY)


def _stored(con: BaseBackend, day: dt.date) -> pd.DataFrame:
    t = con.table("customer_predictions")
    return t.filter(t.fit_date == day).to_pandas().set_index("customer_id").sort_index()


def _next_order_days(model: ParetoNBD | MBGNBD, x, t_x, T) -> np.ndarray:
    """Days until one order is expected, by bisection on the model's expected_orders (to a
    thousandth of a day), rounded up; NaN when not within 365 days."""
    low, high = np.zeros_like(x), np.full_like(x, 365.0)
    for _ in range(20):
        middle = (low + high) / 2
        enough = model.expected_orders(middle, x, t_x, T) >= 1.0
        low, high = np.where(enough, low, middle), np.where(enough, middle, high)
    reachable = model.expected_orders(365.0, x, t_x, T) >= 1.0
    return np.where(reachable, np.maximum(np.ceil(high - 1e-9), 1.0), np.nan)


@pytest.mark.parametrize("name", ["pareto_nbd", "mbgnbd"])
def test_stored_predictions_are_the_models_own(shop, name: str) -> None:
    con, counted = shop
    kind, fit_model = MODELS[name]
    fit = fit_shop(con, DAY, clv_months=6, monthly_discount=0.02, purchase_model=name)
    x, t_x, T = (counted[k].to_numpy() for k in ("x", "t_x", "T"))
    assert fit.purchase_model == name and fit.customers == len(counted)
    assert fit.repeat_customers == int((x > 0).sum()) < len(x) / 2  # mostly one-time buyers
    # The fit is the library's own fit of the model on the counts made here.
    direct = fit_model(x, t_x, T)
    assert isinstance(fit.purchase, kind)
    for param, value in fit.purchase_parameters.items():
        assert value == pytest.approx(getattr(direct, param), rel=1e-4), param
    stored = read_fit(con, DAY)
    assert stored is not None and stored.purchase_model == name
    assert stored.purchase_parameters == fit.purchase_parameters
    assert (stored.s is None) == (name != "pareto_nbd") and (stored.a is None) == (name != "mbgnbd")
    # Every customer scored with the fitted model's P(alive) and expected orders.
    model = fit.purchase
    got = _stored(con, DAY)
    assert list(got.index) == list(counted.index)
    np.testing.assert_allclose(got["p_alive"], model.p_alive(x, t_x, T), rtol=1e-9)
    np.testing.assert_allclose(got["churn_probability"], 1 - model.p_alive(x, t_x, T), rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(got["expected_orders_90d"], model.expected_orders(90, x, t_x, T),
                               rtol=1e-9)
    # CLV: each month's increase of expected orders, at the expected spend, discounted.
    months = [model.expected_orders(k * DAYS_PER_MONTH, x, t_x, T) for k in range(7)]
    orders = sum((months[k] - months[k - 1]) / 1.02 ** k for k in range(1, 7))
    np.testing.assert_allclose(got["predicted_clv"], orders * got["expected_spend"], rtol=1e-9)
    # The next order day: where expected orders first reach 1 (within a day of a bisection).
    exact = _next_order_days(model, x, t_x, T)
    days = (pd.to_datetime(got["predicted_next_order_date"]) - pd.Timestamp(DAY)).dt.days
    days = days.to_numpy(dtype=float)
    assert np.array_equal(np.isnan(exact), np.isnan(days))
    assert (~np.isnan(exact)).sum() >= 5
    assert np.nanmax(np.abs(days - exact)) <= 1


def test_one_time_buyers_get_a_churn_probability_that_grows_with_silence(shop) -> None:
    con, counted = shop
    fit_shop(con, DAY, purchase_model="pareto_nbd")
    got = _stored(con, DAY).join(counted)
    once = got[got.x == 0].sort_values("T")
    assert len(once) > 100
    assert (once.churn_probability > 0).all()
    # The longer since her only order, the likelier she has gone (same T, same figure).
    by_T = once.groupby("T").churn_probability.agg(["min", "max"])
    assert (by_T["max"] - by_T["min"] < 1e-12).all()
    assert (np.diff(by_T["min"].to_numpy()) > 0).all()
    assert by_T["min"].iloc[-1] - by_T["min"].iloc[0] > 0.2
    # With BG/NBD (the default) every one-time buyer has churn probability 0.
    fit_shop(con, DAY)
    assert (_stored(con, DAY).loc[once.index].churn_probability == 0).all()


def test_an_at_risk_segment_selects_exactly_the_likely_churned(shop) -> None:
    con, counted = shop
    fit = fit_shop(con, DAY, purchase_model="pareto_nbd")
    model = ParetoNBD(fit.r, fit.alpha, fit.s, fit.beta, 0.0, 0)
    churn = 1 - model.p_alive(*(counted[k].to_numpy() for k in ("x", "t_x", "T")))
    assert np.abs(churn - 0.5).min() > 1e-6  # no customer on the edge
    expected = sorted(counted.index[churn > 0.5])
    members = con.to_pyarrow(members_on(con, language.validate("churn_probability > 0.5"), DAY))
    assert sorted(members["customer_id"].to_pylist()) == expected
    assert len(expected) > 50 and (counted.loc[expected].x == 0).sum() > 50


# model_fits as segmentry made it before models.purchase_model.
OLD_FITS = pa.schema([
    ("fit_date", pa.date32()), ("customers", pa.int64()), ("repeat_customers", pa.int64()),
    *((name, pa.float64()) for name in ("r", "alpha", "a", "b", "bgnbd_log_likelihood", "p", "q",
                                        "gamma", "gamma_gamma_log_likelihood")),
    ("clv_months", pa.int64()), ("monthly_discount", pa.float64()), ("seconds", pa.float64()),
])


def test_a_model_fits_table_of_an_older_segmentry_gains_the_new_columns(shop) -> None:
    con, _ = shop
    old_day = D(2024, 2, 29)
    con.create_table("model_fits", schema=ibis.schema(OLD_FITS))
    old = {f.name: (old_day if f.name == "fit_date" else 2) for f in OLD_FITS}
    con.insert("model_fits", pa.Table.from_pylist([old], schema=OLD_FITS))
    assert read_fit(con, old_day).purchase_model == "bgnbd"  # before any new fit
    fit_shop(con, DAY, purchase_model="pareto_nbd")
    columns = list(con.get_schema("model_fits").names)
    assert columns[:-3] == OLD_FITS.names and columns[-3:] == ["purchase_model", "s", "beta"]
    assert fit_dates(con) == [old_day, DAY]
    before = read_fit(con, old_day)
    assert (before.purchase_model, before.r, before.b, before.s) == ("bgnbd", 2, 2, None)
    latest = latest_fit(con)
    assert latest.purchase_model == "pareto_nbd" and latest.s > 0 and latest.beta > 0
    assert latest.a is None and latest.b is None
    # An old workspace keeps working with the default model too.
    fit_shop(con, DAY)
    assert read_fit(con, DAY).purchase_model == "bgnbd" and read_fit(con, DAY).s is None


class _Opener:
    def __init__(self, con: BaseBackend) -> None:
        self.con = con

    def warehouse(self, context: Context) -> BaseBackend:
        return self.con


def _context(con: BaseBackend, folder: Path, model: str) -> Context:
    models = ModelsSettings(purchase_model=model, backfill_months=0, refit_days=7)
    return Context(folder, Settings(models=models), _Opener(con))  # type: ignore[arg-type]


def test_switching_the_setting_refits(shop, tmp_path: Path) -> None:
    con, _ = shop
    assert refit_if_due(_context(con, tmp_path, "bgnbd"), DAY).startswith("models fitted at 1")
    later = DAY + dt.timedelta(days=2)
    assert refit_if_due(_context(con, tmp_path, "bgnbd"), later) == f"models fitted {DAY}, not due"
    note = refit_if_due(_context(con, tmp_path, "pareto_nbd"), later)
    assert note == (f"models refitted with Pareto/NBD at {later}: the latest fit ({DAY}) was made "
                    "with BG/NBD, models.purchase_model is now Pareto/NBD")
    assert fit_dates(con) == [DAY, later]
    assert read_fit(con, DAY).purchase_model == "bgnbd"  # earlier fits keep their model
    assert read_fit(con, later).purchase_model == "pareto_nbd"
    again = DAY + dt.timedelta(days=3)
    context = _context(con, tmp_path, "pareto_nbd")
    assert refit_if_due(context, again) == f"models fitted {later}, not due"
    # The page's JSON says which model made the latest fit, with its parameters.
    shown = show(context).to_dict()["fit"]
    assert shown["purchase_model"] == "pareto_nbd" and shown["purchase_label"] == "Pareto/NBD"
    assert list(shown["purchase_parameters"]) == ["r", "alpha", "s", "beta"]
    assert shown["purchase_parameters"]["s"] == read_fit(con, later).s


def test_a_bad_setting_is_refused_with_the_allowed_values(tmp_path: Path) -> None:
    (tmp_path / CONFIG_FILE).write_text('[models]\npurchase_model = "pareto"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load(tmp_path)
    assert "models.purchase_model: Input should be 'bgnbd', 'pareto_nbd' or 'mbgnbd'" in str(
        refused.value)
    (tmp_path / CONFIG_FILE).write_text('[models]\npurchase_model = "mbgnbd"\n', encoding="utf-8")
    assert load(tmp_path).models.purchase_model == "mbgnbd"
    assert Settings().models.purchase_model == "bgnbd"
