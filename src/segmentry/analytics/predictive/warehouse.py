"""Fits over the shop's own orders, stored in the warehouse and versioned by fit date.

- ``model_fits``: one row per fit date: which repeat-buying model made it (``purchase_model``:
  ``bgnbd``, ``pareto_nbd`` or ``mbgnbd``, the setting ``models.purchase_model``), its
  parameters (r, α and a, b for BG/NBD and MBG/NBD, s, β for Pareto/NBD; the others empty) and
  log-likelihood (the column ``bgnbd_log_likelihood``, named when BG/NBD was the only model),
  Gamma-Gamma's, how many customers each saw, the CLV horizon and discount rate, and how long
  the fit took. A table made before ``purchase_model``, ``s`` and ``beta`` existed gets them at
  its next fit (empty for its old rows, read as BG/NBD fits).
- ``customer_predictions`` (:data:`segmentry.analytics.asof.PREDICTIONS`): one row per fit date
  and customer: ``p_alive``, ``churn_probability`` (1 − P(alive)), ``expected_orders_90d``,
  ``expected_spend`` (per order, shop currency), ``predicted_clv`` and
  ``predicted_next_order_date``.

A fit as of day D reads the orders valid at the end of D (as every as-of figure does, so a
backfilled month-end fit sees what was known then), counts each customer's distinct order days
as the papers count transactions, and works in days. Refitting a day replaces its rows.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pyarrow as pa
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.analytics.asof import PREDICTIONS, Facts, orders_as_of
from segmentry.engine import add_missing_columns, execute, transaction

from .bgnbd import BGNBD
from .clv import DAYS_PER_MONTH
from .gamma_gamma import GammaGamma, fit_gamma_gamma
from .mbgnbd import MBGNBD
from .pareto_nbd import ParetoNBD
from .purchase import LABELS, AnyModel, Scoring, fit_purchase_model, scoring

__all__ = ["FITS", "ModelFit", "customer_summary", "fit_dates", "fit_shop", "latest_fit",
           "month_ends", "read_fit"]

FITS = "model_fits"


@dataclass(frozen=True)
class ModelFit:
    """One stored fit (a ``model_fits`` row). ``bgnbd_log_likelihood`` is the repeat-buying
    model's, whichever it is; ``a`` and ``b`` are empty for Pareto/NBD, ``s`` and ``beta`` for
    the others."""

    fit_date: dt.date
    customers: int
    repeat_customers: int
    r: float
    alpha: float
    a: float | None
    b: float | None
    bgnbd_log_likelihood: float
    p: float
    q: float
    gamma: float
    gamma_gamma_log_likelihood: float
    clv_months: int
    monthly_discount: float
    seconds: float
    purchase_model: str = "bgnbd"
    s: float | None = None
    beta: float | None = None

    @property
    def purchase_label(self) -> str:
        """The repeat-buying model's name as printed: BG/NBD, Pareto/NBD or MBG/NBD."""
        return LABELS[self.purchase_model]

    @property
    def purchase_parameters(self) -> dict[str, float]:
        """The repeat-buying model's parameters by name (``r``, ``alpha`` and ``a``, ``b`` or
        ``s``, ``beta``)."""
        names = ("r", "alpha", "s", "beta") if self.purchase_model == "pareto_nbd" else (
            "r", "alpha", "a", "b")
        return {name: float(getattr(self, name)) for name in names}

    @property
    def purchase(self) -> AnyModel:
        """The fitted repeat-buying model."""
        r, alpha, third, fourth = self.purchase_parameters.values()
        fitted = (r, alpha, third, fourth, self.bgnbd_log_likelihood, self.customers)
        if self.purchase_model == "pareto_nbd":
            return ParetoNBD(*fitted)
        return MBGNBD(*fitted) if self.purchase_model == "mbgnbd" else BGNBD(*fitted)

    @property
    def gamma_gamma(self) -> GammaGamma:
        return GammaGamma(self.p, self.q, self.gamma, self.gamma_gamma_log_likelihood,
                          self.repeat_customers)


def customer_summary(con: BaseBackend, day: dt.date) -> ir.Table:
    """Per customer with an order by ``day``: ``first_day``, ``last_day``, ``frequency`` (order
    days after the first) and ``repeat_value`` (what the repeat days were worth)."""
    facts = Facts.of(con)
    orders = orders_as_of(facts.orders, day, positions=False, settled=facts.settled,
                          refunds=facts.refunds)
    days = orders.group_by(["customer_id", "processed_on"]).aggregate(
        value=orders.amount.sum().cast("float64"))
    first = days.processed_on.min().over(group_by=days.customer_id)
    days = days.mutate(repeat=days.processed_on > first)
    return days.group_by("customer_id").aggregate(
        first_day=days.processed_on.min(),
        last_day=days.processed_on.max(),
        frequency=ibis.ifelse(days.repeat, 1, 0).sum(),
        repeat_value=ibis.ifelse(days.repeat, days.value, 0.0).sum(),
    )


def fit_shop(
    con: BaseBackend, day: dt.date, *, clv_months: int = 12, monthly_discount: float = 0.01,
    purchase_model: str = "bgnbd",
) -> ModelFit:
    """Fit the repeat-buying model ``purchase_model`` (``bgnbd``, ``pareto_nbd`` or
    ``mbgnbd``) and Gamma-Gamma on the orders known at the end of ``day``, score every customer
    who has ordered and store both tables (replacing an earlier fit of the same day). Raises
    :class:`~segmentry.analytics.predictive.ModelFitError` when the shop cannot be modelled."""
    started = time.perf_counter()
    frame = customer_summary(con, day).to_pyarrow().to_pandas()
    first = pd.to_datetime(frame["first_day"])
    end = pd.Timestamp(day)
    x = frame["frequency"].to_numpy(dtype=float)
    t_x = ((pd.to_datetime(frame["last_day"]) - first).dt.days).to_numpy(dtype=float)
    T = ((end - first).dt.days).to_numpy(dtype=float)
    monetary = np.where(x > 0, frame["repeat_value"].to_numpy(dtype=float) / np.maximum(x, 1), 0.0)
    rows_x, rows_t_x, rows_T, counts = _distinct_rows(x, t_x, T)
    model = fit_purchase_model(purchase_model, rows_x, rows_t_x, rows_T, counts)
    gg = fit_gamma_gamma(x, monetary)
    with np.errstate(all="ignore"):
        p_alive, orders_90d, orders, next_days = _score(scoring(model), x, t_x, T, clv_months,
                                                        monthly_discount)
        spend = gg.expected_spend(x, monetary)
    # The next order day as a date32 (days since 1970-01-01), empty where none is expected.
    epoch_day = (day - dt.date(1970, 1, 1)).days
    next_date = pa.array(epoch_day + np.nan_to_num(next_days).astype(np.int32),
                         mask=np.isnan(next_days)).cast(pa.date32())
    predictions = pa.table({
        "fit_date": pa.array([day] * len(frame), pa.date32()),
        "customer_id": pa.array(frame["customer_id"]),
        "p_alive": p_alive,
        "churn_probability": 1.0 - p_alive,
        "expected_orders_90d": orders_90d,
        "expected_spend": spend,
        "predicted_clv": orders * spend,
        "predicted_next_order_date": next_date,
    })
    fit = ModelFit(
        fit_date=day, customers=len(frame), repeat_customers=int((x > 0).sum()),
        r=model.r, alpha=model.alpha, a=getattr(model, "a", None), b=getattr(model, "b", None),
        bgnbd_log_likelihood=model.log_likelihood, p=gg.p, q=gg.q, gamma=gg.gamma,
        gamma_gamma_log_likelihood=gg.log_likelihood, clv_months=clv_months,
        monthly_discount=monthly_discount, seconds=0.0, purchase_model=purchase_model,
        s=getattr(model, "s", None), beta=getattr(model, "beta", None),
    )
    fit = ModelFit(**{**asdict(fit), "seconds": time.perf_counter() - started})
    _store(con, fit, predictions)
    return fit


def _distinct_rows(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, ...]:
    """The distinct (x, t_x, T) rows and how many customers share each (a shop of a million
    has about a quarter as many), for a weighted fit. Whole days pack into one integer key:
    a 1-d unique is far faster than a unique over rows."""
    key = (x.astype(np.int64) << 42) | (t_x.astype(np.int64) << 21) | T.astype(np.int64)
    distinct, counts = np.unique(key, return_counts=True)
    mask = (1 << 21) - 1
    return ((distinct >> 42).astype(float), ((distinct >> 21) & mask).astype(float),
            (distinct & mask).astype(float), counts)


# Days at which each customer's expected orders are tabulated to find the next order day.
_GRID = np.append(np.arange(0.0, 365.0, 7.0), 365.0)


def _score(
    model: Scoring, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, clv_months: int,
    monthly_discount: float,
) -> tuple[np.ndarray, ...]:
    """P(alive), orders in 90 days, discounted orders over the CLV horizon and days to the
    next order, per customer.

    E[Y(t)] = A(t | x, T) / (1 + odds(x, t_x, T)) (:class:`.purchase.Scoring`, for each of
    the three models): the costly A (special functions) is computed once per distinct (x, T)
    pair — a few thousand in a large shop — and divided per customer.
    The next order day is where A reaches 1 + odds: found on A tabulated weekly, then
    interpolated linearly within the week (to about a day;
    :func:`~segmentry.analytics.predictive.clv.days_to_next_order` bisects exactly, for one
    customer at a time).
    """
    pairs, pair = np.unique(np.stack([x, T]), axis=1, return_inverse=True)
    px, pT = pairs
    odds = model.alive_odds(x, t_x, T)
    discounted = np.zeros(px.shape)
    previous = np.zeros(px.shape)
    for k in range(1, clv_months + 1):
        cumulative = model.orders_if_alive(k * DAYS_PER_MONTH, px, pT)
        discounted += (cumulative - previous) / (1.0 + monthly_discount) ** k
        previous = cumulative
    table = model.orders_if_alive(_GRID[None, :], px[:, None], pT[:, None])
    reachable = table[pair, -1] >= odds
    low = np.zeros(x.shape, dtype=np.intp)  # A(0) = 0 < 1 + odds: never reached at 0
    high = np.full(x.shape, len(_GRID) - 1, dtype=np.intp)
    while (high - low > 1).any():
        middle = (low + high) // 2
        enough = table[pair, middle] >= odds
        high, low = np.where(enough, middle, high), np.where(enough, low, middle)
    a_low, a_high = table[pair, low], table[pair, high]
    share = np.clip((odds - a_low) / np.where(a_high > a_low, a_high - a_low, 1.0), 0.0, 1.0)
    days = np.maximum(np.ceil(_GRID[low] + share * (_GRID[high] - _GRID[low]) - 1e-9), 1.0)
    return (1.0 / odds, model.orders_if_alive(90.0, px, pT)[pair] / odds,
            discounted[pair] / odds, np.where(reachable, days, np.nan))


def _store(con: BaseBackend, fit: ModelFit, predictions: pa.Table) -> None:
    row = pa.Table.from_pylist([asdict(fit)], schema=_ROW_SCHEMA)
    with transaction(con):
        for name, table in ((FITS, row), (PREDICTIONS, predictions)):
            if name not in con.list_tables():
                con.create_table(name, schema=ibis.schema(table.schema))
            elif name == FITS:
                add_missing_columns(con, FITS, ibis.schema(_MODEL_SCHEMA))
            execute(con, sge.delete(sg.table(name, quoted=True)).where(
                sg.column("fit_date", quoted=True).eq(sge.cast(
                    sge.convert(fit.fit_date.isoformat()), "date"))))
            con.insert(name, table)


_FIT_SCHEMA = pa.schema([
    ("fit_date", pa.date32()), ("customers", pa.int64()), ("repeat_customers", pa.int64()),
    *((name, pa.float64()) for name in ("r", "alpha", "a", "b", "bgnbd_log_likelihood", "p", "q",
                                        "gamma", "gamma_gamma_log_likelihood")),
    ("clv_months", pa.int64()), ("monthly_discount", pa.float64()), ("seconds", pa.float64()),
])


# Columns added with models.purchase_model: last, so that an older table gets them in order.
_MODEL_SCHEMA = pa.schema([("purchase_model", pa.string()), ("s", pa.float64()),
                           ("beta", pa.float64())])
_ROW_SCHEMA = pa.schema([*_FIT_SCHEMA, *_MODEL_SCHEMA])


def fit_dates(con: BaseBackend) -> list[dt.date]:
    """The days fitted so far, oldest first."""
    if FITS not in con.list_tables():
        return []
    column = con.table(FITS).fit_date
    return sorted(column.to_pyarrow().to_pylist())


def read_fit(con: BaseBackend, day: dt.date) -> ModelFit | None:
    """The fit of ``day``, if there is one."""
    if FITS not in con.list_tables():
        return None
    t = con.table(FITS)
    rows = t.filter(t.fit_date == ibis.date(day)).to_pyarrow().to_pylist()
    if not rows:
        return None
    # NOTE: a row stored before purchase_model existed has it empty (or lacks the column).
    return ModelFit(**{**rows[0], "purchase_model": rows[0].get("purchase_model") or "bgnbd"})


def latest_fit(con: BaseBackend, on_or_before: dt.date | None = None) -> ModelFit | None:
    """The latest fit (on or before a day, if given)."""
    days = [d for d in fit_dates(con) if on_or_before is None or d <= on_or_before]
    return read_fit(con, days[-1]) if days else None


def month_ends(day: dt.date, months: int) -> list[dt.date]:
    """The last ``months`` month-ends before ``day``, oldest first.

    >>> month_ends(dt.date(2024, 3, 15), 3)
    [datetime.date(2023, 12, 31), datetime.date(2024, 1, 31), datetime.date(2024, 2, 29)]
    """
    ends, current = [], day.replace(day=1) - dt.timedelta(days=1)
    for _ in range(months):
        ends.append(current)
        current = current.replace(day=1) - dt.timedelta(days=1)
    return ends[::-1]
