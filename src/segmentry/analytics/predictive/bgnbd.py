"""The BG/NBD model of repeat buying (Fader, Hardie & Lee 2005).

A customer buys at a Poisson rate λ while alive; after each purchase she drops out with
probability p. Across customers λ ~ Gamma(r, α) and p ~ Beta(a, b). The data per customer are
``frequency`` x (repeat purchases: distinct purchase days after the first), ``recency`` t_x
(first purchase to last, in the model's time unit) and ``T`` (first purchase to the end of the
calibration period).

Formulas from P. S. Fader, B. G. S. Hardie and K. L. Lee, "'Counting Your Customers' the Easy
Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2), 2005, 275-284:
the likelihood is their equation (6), the conditional expectation equation (10) and P(alive)
the note "Computing P(alive) Using the BG/NBD Model" (Fader, Hardie & Lee 2008, eq. 2).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from ._fit import maximise
from ._inputs import validated

__all__ = ["BGNBD", "fit_bgnbd"]


@dataclass(frozen=True)
class BGNBD:
    """Fitted BG/NBD parameters, in the time unit of the data they were fitted on."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def log_likelihood_terms(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood (FHL 2005, eq. 6)."""
        return _log_likelihood(np.array([self.r, self.alpha, self.a, self.b]), x, t_x, T)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(alive at T | x, t_x, T); 1 for a customer with no repeat purchase.

        >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, customers=0)
        >>> round(float(m.p_alive(np.array([2]), np.array([30.43]), np.array([38.86]))[0]), 3)
        0.727
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return 1.0 / (1.0 + self._dropout_odds(x, t_x, T))

    def expected_orders(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10).

        >>> m = BGNBD(r=0.243, alpha=4.414, a=0.793, b=2.426, log_likelihood=0, customers=0)
        >>> round(float(m.expected_orders(39, np.array([2]), np.array([30.43]),
        ...                               np.array([38.86]))[0]), 3)
        1.226
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return self.orders_if_alive(t, x, T) / (1.0 + self._dropout_odds(x, t_x, T))

    def orders_if_alive(self, t: float | np.ndarray, x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """The numerator of eq. 10: E[Y(t)] times (1 + dropout odds). It depends on x and T
        only (not on t_x), so a large shop computes it once per distinct (x, T)."""
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype=float)
        z = t / (alpha + T + t)
        head = (a + b + x - 1.0) / (a - 1.0)
        tail = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1.0, z
        )
        return head * tail

    def dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x): P(alive) = 1/(1 + odds)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return self._dropout_odds(x, t_x, T)

    def expected_orders_new(self, t: float | np.ndarray) -> np.ndarray:
        """E[X(t)]: purchases by a new customer in her first ``t`` units (FHL 2005, eq. 9)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.asarray(t, dtype=float)
        return (a + b - 1.0) / (a - 1.0) * (
            1.0 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1.0, t / (alpha + t))
        )

    def _dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x), computed in logs to avoid overflow.
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        repeat = x > 0
        log_odds = np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) + (r + x) * (
            np.log(alpha + T) - np.log(alpha + t_x)
        )
        return np.where(repeat, np.exp(np.minimum(log_odds, 700.0)), 0.0)


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = betaln(a, b + x) - betaln(a, b)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # B(a+1, b+x−1)/B(a, b+x) = a/(b+x−1); only defined (and only present) when x > 0.
    a4 = np.where(
        repeat,
        np.log(a) - np.log(np.where(repeat, b + x - 1.0, 1.0)) - (r + x) * np.log(alpha + t_x),
        -np.inf,
    )
    return a1 + a2 + np.logaddexp(a3, a4)


class _Distinct:
    """The data as distinct values and indices into them: the special functions of the
    likelihood then run over a few hundred values of x, t_x and T, not over every row."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.x, self.repeat = x, x > 0
        self.ux, self.ix = np.unique(x, return_inverse=True)
        self.uT, self.iT = np.unique(T, return_inverse=True)
        self.ut, self.it = np.unique(t_x, return_inverse=True)

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        """:func:`_log_likelihood`, term by term the same."""
        r, alpha, a, b = params
        ux = self.ux
        by_x = gammaln(r + ux) - gammaln(r) + betaln(a, b + ux) - betaln(a, b)
        ratio = np.log(a) - np.log(np.where(ux > 0, b + ux - 1.0, 1.0))
        rx = r + self.x
        a3 = -rx * np.log(alpha + self.uT)[self.iT]
        a4 = np.where(self.repeat, ratio[self.ix] - rx * np.log(alpha + self.ut)[self.it],
                      -np.inf)
        return by_x[self.ix] + r * np.log(alpha) + np.logaddexp(a3, a4)


def fit_bgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> BGNBD:
    """Fit BG/NBD by maximum likelihood.

    ``weights`` counts how many customers share each (x, t_x, T) row, so a large shop can be
    fitted on its distinct rows. Raises :class:`ModelFitError` if there are fewer than
    ten customers, no repeat purchase at all, inconsistent inputs or no convergence.
    """
    x, t_x, T, w = validated(frequency, recency, T, weights, model="BG/NBD")
    customers = int(w.sum())

    data = _Distinct(x, t_x, T)

    def negative_ll(log_params: np.ndarray) -> float:
        return -float(np.dot(w, data.log_likelihood(np.exp(log_params))))

    # Starting values: r/α is the mean purchase rate; a = 1, b = 3 is a mild dropout prior.
    mean_rate = float(np.dot(w, x) / max(float(np.dot(w, T)), 1e-9))
    start = [1.0, 1.0 / max(mean_rate, 1e-6), 1.0, 3.0]
    params, ll = maximise(negative_ll, start, model="BG/NBD", scale=float(w.sum()))
    r, alpha, a, b = (float(v) for v in params)
    return BGNBD(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, customers=customers)
