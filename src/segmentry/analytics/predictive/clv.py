"""Customer lifetime value and the other per-customer predictions of the fitted models.

Predicted CLV over ``H`` months with a monthly discount rate ``d`` (Fader, Hardie & Lee 2005,
"RFM and CLV", section "CLV", in discrete time):

    CLV = Σ_{k=1..H}  ( E[Y(k·m)] − E[Y((k−1)·m)] ) · E(M | m_x, x) / (1 + d)^k

where E[Y(t)] is the BG/NBD conditional expectation of orders in the next t units, m one month
in those units (30.4375 days) and E(M | m_x, x) the Gamma-Gamma expected spend per order. Each
month's expected orders are valued at the expected spend and discounted to today.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bgnbd import BGNBD
from .gamma_gamma import GammaGamma

__all__ = ["DAYS_PER_MONTH", "Predictions", "days_to_next_order", "discounted_orders", "predict",
           "predicted_clv"]

DAYS_PER_MONTH = 365.25 / 12


def discounted_orders(
    bgnbd: BGNBD,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    unit_days: float = 1.0,
) -> np.ndarray:
    """Σ_k (E[Y(k·m)] − E[Y((k−1)·m)]) / (1 + d)^k: the next ``months`` months' expected
    orders, each month discounted (the CLV formula above without the spend)."""
    month = DAYS_PER_MONTH / unit_days
    previous = np.zeros(np.shape(x), dtype=float)
    total = np.zeros(np.shape(x), dtype=float)
    for k in range(1, months + 1):
        cumulative = bgnbd.expected_orders(k * month, x, t_x, T)
        total += (cumulative - previous) / (1.0 + monthly_discount) ** k
        previous = cumulative
    return total


def predicted_clv(
    bgnbd: BGNBD,
    spend_per_order: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    unit_days: float = 1.0,
) -> np.ndarray:
    """Discounted value of the next ``months`` months' expected orders (formula above).

    >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, customers=0)
    >>> one = [np.array([v]) for v in (2, 30.43, 38.86)]
    >>> value = predicted_clv(m, np.array([40.0]), *one, months=1, monthly_discount=0.0,
    ...                       unit_days=7)
    >>> bool(np.isclose(value[0], 40 * m.expected_orders(DAYS_PER_MONTH / 7, *one)[0]))
    True
    """
    orders = discounted_orders(bgnbd, x, t_x, T, months=months,
                               monthly_discount=monthly_discount, unit_days=unit_days)
    return orders * np.asarray(spend_per_order, dtype=float)


def days_to_next_order(
    bgnbd: BGNBD,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    *,
    unit_days: float = 1.0,
    horizon_days: int = 365,
) -> np.ndarray:
    """Days from the end of the data until one order is expected (E[Y(t)] = 1), found by
    bisection (E[Y(t)] rises with t); NaN when fewer than one order is expected within
    ``horizon_days``."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    low = np.zeros_like(x)
    high = np.full_like(x, horizon_days / unit_days)
    reachable = bgnbd.expected_orders(high, x, t_x, T) >= 1.0
    for _ in range(10):  # 365 days / 2**10: below half a day
        middle = (low + high) / 2.0
        enough = bgnbd.expected_orders(middle, x, t_x, T) >= 1.0
        high = np.where(enough, middle, high)
        low = np.where(enough, low, middle)
    days = np.ceil(high * unit_days - 1e-9)
    return np.where(reachable, np.maximum(days, 1.0), np.nan)


@dataclass(frozen=True)
class Predictions:
    """Per-customer predictions, arrays aligned with the input rows."""

    p_alive: np.ndarray
    expected_orders_90d: np.ndarray
    expected_spend: np.ndarray
    predicted_clv: np.ndarray
    days_to_next_order: np.ndarray


def predict(
    bgnbd: BGNBD,
    gamma_gamma: GammaGamma,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    monetary: np.ndarray,
    *,
    unit_days: float = 1.0,
    months: int = 12,
    monthly_discount: float = 0.01,
) -> Predictions:
    """All the predictions for customers summarised as (x, t_x, T, monetary)."""
    spend = gamma_gamma.expected_spend(x, monetary)
    return Predictions(
        p_alive=bgnbd.p_alive(x, t_x, T),
        expected_orders_90d=bgnbd.expected_orders(90.0 / unit_days, x, t_x, T),
        expected_spend=spend,
        predicted_clv=predicted_clv(bgnbd, spend, x, t_x, T, months=months,
                                    monthly_discount=monthly_discount, unit_days=unit_days),
        days_to_next_order=days_to_next_order(bgnbd, x, t_x, T, unit_days=unit_days),
    )
