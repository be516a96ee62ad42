"""The Pareto/NBD model of repeat buying (Schmittlein, Morrison & Colombo 1987).

A customer buys at a Poisson rate λ while alive, and her lifetime is exponential with rate μ:
she may drop out at any moment, not only after a purchase (BG/NBD's assumption). Across
customers λ ~ Gamma(r, α) and μ ~ Gamma(s, β). The data per customer are those of BG/NBD:
``frequency`` x, ``recency`` t_x and ``T``, in the model's time unit.

Formulas from P. S. Fader and B. G. S. Hardie, "A Note on Deriving the Pareto/NBD Model and
Related Expressions" (2005, brucehardie.com note 009): the likelihood of their section 3,
with A₀ written with the Gauss hypergeometric function whose argument lies in [0, 1) (one form
when α ≥ β, the other when α < β); P(alive) of section 5 and the conditional expectation of
section 6. The sums and differences are taken in logs, so a customer
with hundreds of purchases (terms like (α + T)^(r + x)) does not overflow.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, hyp2f1

from ._fit import maximise
from ._inputs import distinct_rows, validated

__all__ = ["ParetoNBD", "fit_pareto_nbd"]


@dataclass(frozen=True)
class ParetoNBD:
    """Fitted Pareto/NBD parameters, in the time unit of the data they were fitted on."""

    r: float
    alpha: float
    s: float
    beta: float
    log_likelihood: float
    customers: int

    def log_likelihood_terms(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood (Fader & Hardie 2005, note 009, section 3)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return _log_likelihood(np.array([self.r, self.alpha, self.s, self.beta]), x, t_x, T)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(alive at T | x, t_x, T) (note 009, section 5). Unlike BG/NBD's, it is below 1 for a
        one-time buyer too, and falls the longer she has been silent.

        >>> m = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, log_likelihood=0,
        ...               customers=0)
        >>> [round(float(v), 3) for v in m.p_alive(np.array([0, 2]), np.array([0, 30.43]),
        ...                                         np.array([38.86, 38.86]))]
        [0.295, 0.869]
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return 1.0 / (1.0 + np.exp(np.minimum(self._log_dropout_odds(x, t_x, T), 700.0)))

    def expected_orders(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (note 009, section 6): P(alive) times
        E[λ] · E[(1 − e^(−μt))/μ] under the alive customers' posterior, λ ~ Gamma(r + x, α + T)
        and μ ~ Gamma(s, β + T).

        >>> m = ParetoNBD(r=0.553, alpha=10.578, s=0.606, beta=11.669, log_likelihood=0,
        ...               customers=0)
        >>> round(float(m.expected_orders(39, np.array([2]), np.array([30.43]),
        ...                               np.array([38.86]))[0]), 3)
        1.455
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        t = np.asarray(t, dtype=float)
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        # (1 − ((β+T)/(β+T+t))^(s−1)) / (s − 1), whose limit at s = 1 is log((β+T+t)/(β+T)).
        log_ratio = np.log1p(t / (beta + T))
        k = 1.0 - s
        survival = log_ratio if abs(k) < 1e-12 else np.expm1(k * log_ratio) / k
        return (r + x) * (beta + T) / (alpha + T) * survival * self.p_alive(x, t_x, T)

    def _log_dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        # log[ s/(r+s+x) · (α+T)^(r+x) (β+T)^s · A₀ ]: P(alive) = 1/(1 + odds).
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        return (np.log(s / (r + s + x)) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
                + _log_a0(r, alpha, s, beta, x, t_x, T))


def _log_a0(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """log A₀ (note 009, section 3): the difference of one term at t_x and one at T.

    A₀ is an integral over the dropout time from t_x to T, so the t_x term is the larger
    and A₀ = 0 when t_x = T (log A₀ = −inf, which the callers' logaddexp handles).
    """
    return _a0_difference(_a0_term(r, alpha, s, beta, x, t_x), _a0_term(r, alpha, s, beta, x, T))


def _a0_difference(at_t_x: np.ndarray, at_T: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        result: np.ndarray = at_t_x + np.log1p(-np.exp(np.minimum(at_T - at_t_x, 0.0)))
    return result


def _a0_term(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, time: np.ndarray
) -> np.ndarray:
    """One of the two terms of log A₀, at ``time`` = t_x or T."""
    rsx = r + s + x
    # NOTE: the hypergeometric function's argument must lie in [0, 1): the note's two forms
    # are the same function; the one chosen by the larger of α and β keeps it there.
    b: float | np.ndarray
    if alpha >= beta:
        larger, other, b = alpha, beta, s + 1.0
    else:
        larger, other, b = beta, alpha, r + x
    z = (larger - other) / (larger + time)
    result: np.ndarray = np.log(hyp2f1(rsx, b, rsx + 1.0, z)) - rsx * np.log(larger + time)
    return result


class _Pairs:
    """The likelihood over distinct (x, t_x, T) rows, with A₀'s terms — the costly
    hypergeometric functions — computed once per distinct (x, t_x) and (x, T) pair: a shop
    of a million customers has some 235,000 rows but 35,000 pairs."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> None:
        self.x, self.T = x, T
        (self.px_t, self.pt), self.i_t = self._pairs(x, t_x)
        (self.px_T, self.pT), self.i_T = self._pairs(x, T)

    @staticmethod
    def _pairs(x: np.ndarray, time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pairs, inverse = np.unique(np.stack([x, time]), axis=1, return_inverse=True)
        return pairs, inverse.ravel()

    def log_likelihood(self, params: np.ndarray) -> np.ndarray:
        r, alpha, s, beta = (float(v) for v in params)
        log_a0 = _a0_difference(_a0_term(r, alpha, s, beta, self.px_t, self.pt)[self.i_t],
                                _a0_term(r, alpha, s, beta, self.px_T, self.pT)[self.i_T])
        return _combine(params, self.x, self.T, log_a0)


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, s, beta = (float(v) for v in params)
    return _combine(params, x, T, _log_a0(r, alpha, s, beta, x, t_x, T))


def _combine(params: np.ndarray, x: np.ndarray, T: np.ndarray, log_a0: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = (float(v) for v in params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    alive = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    dropped = np.log(s / (r + s + x)) + log_a0
    result: np.ndarray = head + np.logaddexp(alive, dropped)
    return result


def fit_pareto_nbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> ParetoNBD:
    """Fit Pareto/NBD by maximum likelihood.

    ``weights`` counts how many customers share each (x, t_x, T) row. Raises
    :class:`~segmentry.analytics.predictive.ModelFitError` with the codes of
    :func:`~segmentry.analytics.predictive.fit_bgnbd`: fewer than ten customers, no repeat
    purchase at all, inconsistent inputs or no convergence.
    """
    x, t_x, T, w = validated(frequency, recency, T, weights, model="Pareto/NBD")
    customers = int(w.sum())
    x, t_x, T, w = distinct_rows(x, t_x, T, w)
    data = _Pairs(x, t_x, T)

    def negative_ll(log_params: np.ndarray) -> float:
        return -float(np.dot(w, data.log_likelihood(np.exp(log_params))))

    # Starting values: r/α is the mean purchase rate; s/β a mean lifetime of about the
    # observation period. BTYD starts from (1, 1, 1, 1) on weekly data.
    mean_rate = float(np.dot(w, x) / max(float(np.dot(w, T)), 1e-9))
    mean_T = float(np.dot(w, T) / w.sum())
    start = [1.0, 1.0 / max(mean_rate, 1e-6), 1.0, max(mean_T, 1e-6)]
    params, ll = maximise(negative_ll, start, model="Pareto/NBD", scale=customers)
    r, alpha, s, beta = (float(v) for v in params)
    return ParetoNBD(r=r, alpha=alpha, s=s, beta=beta, log_likelihood=ll, customers=customers)
