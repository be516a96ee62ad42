"""The MBG/NBD model of repeat buying (Batislam, Denizel & Filiztekin 2007).

BG/NBD with one change: a customer may drop out (with her probability p) right after her
*first* purchase too, not only after each repeat purchase. A one-time buyer's P(alive) is then
below 1 and falls the longer she stays silent, where BG/NBD holds it at 1. As in BG/NBD,
λ ~ Gamma(r, α) and p ~ Beta(a, b) across customers, and the data are ``frequency`` x,
``recency`` t_x and ``T``.

Formulas from E. P. Batislam, M. Denizel and A. Filiztekin, "Empirical validation and
comparison of models for customer base analysis", *International Journal of Research in
Marketing* 24(3), 2007, 201-209 (the likelihood and P(alive) of their appendix A); the
conditional expectation is the one U. Wagner and D. Hoppe give in "Erratum on the MBG/NBD
Model", *IJRM* 25(3), 2008, 225-226, which we derive below and test by simulation. The
individual likelihood is
λ^x (1−p)^x [(1−p) e^(−λT) + p e^(−λ t_x)]; integrating over λ and p gives

    L = Γ(r+x) α^r / Γ(r) · B(a, b+x+1)/B(a, b) · [(α+T)^−(r+x) + a/(b+x) · (α+t_x)^−(r+x)].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln, hyp2f1

from ._fit import maximise
from ._inputs import distinct_rows, validated

__all__ = ["MBGNBD", "fit_mbgnbd"]


@dataclass(frozen=True)
class MBGNBD:
    """Fitted MBG/NBD parameters, in the time unit of the data they were fitted on."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    customers: int

    def log_likelihood_terms(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Each customer's log-likelihood (the module docstring's L)."""
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return _log_likelihood(np.array([self.r, self.alpha, self.a, self.b]), x, t_x, T)

    def p_alive(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        """P(alive at T | x, t_x, T) = 1 / (1 + a/(b+x) · ((α+T)/(α+t_x))^(r+x)); below 1 for
        a one-time buyer too.

        >>> m = MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, log_likelihood=0, customers=0)
        >>> [round(float(v), 3) for v in m.p_alive(np.array([0, 2]), np.array([0, 30.43]),
        ...                                         np.array([38.86, 38.86]))]
        [0.39, 0.706]
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return 1.0 / (1.0 + np.exp(np.minimum(self._log_dropout_odds(x, t_x, T), 700.0)))

    def expected_orders(
        self, t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
    ) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (Wagner & Hoppe 2008).

        An alive customer with (λ, p) makes (1 − e^(−λpt))/p purchases in t on average; her
        posterior given the history and alive is λ ~ Gamma(r+x, α+T), p ~ Beta(a, b+x+1)
        (she survived x + 1 chances to drop out), so this is BG/NBD's eq. 10 with b + 1 for b.

        >>> m = MBGNBD(r=0.525, alpha=6.183, a=0.891, b=1.614, log_likelihood=0, customers=0)
        >>> round(float(m.expected_orders(39, np.array([2]), np.array([30.43]),
        ...                               np.array([38.86]))[0]), 3)
        1.263
        """
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        t = np.asarray(t, dtype=float)
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + T + t)
        head = (a + b + x) / (a - 1.0)
        tail = 1.0 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x + 1.0, a + b + x, z
        )
        return head * tail * self.p_alive(x, t_x, T)

    def _log_dropout_odds(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        return np.log(a / (b + x)) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))


def _log_likelihood(
    params: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray
) -> np.ndarray:
    r, alpha, a, b = (float(v) for v in params)
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x + 1.0) - betaln(a, b)
    alive = -(r + x) * np.log(alpha + T)
    dropped = np.log(a / (b + x)) - (r + x) * np.log(alpha + t_x)
    return head + np.logaddexp(alive, dropped)


def fit_mbgnbd(
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    weights: np.ndarray | None = None,
) -> MBGNBD:
    """Fit MBG/NBD by maximum likelihood.

    ``weights`` counts how many customers share each (x, t_x, T) row. Raises
    :class:`~segmentry.analytics.predictive.ModelFitError` with the codes of
    :func:`~segmentry.analytics.predictive.fit_bgnbd`: fewer than ten customers, no repeat
    purchase at all, inconsistent inputs or no convergence.
    """
    x, t_x, T, w = validated(frequency, recency, T, weights, model="MBG/NBD")
    customers = int(w.sum())
    x, t_x, T, w = distinct_rows(x, t_x, T, w)

    def negative_ll(log_params: np.ndarray) -> float:
        return -float(np.dot(w, _log_likelihood(np.exp(log_params), x, t_x, T)))

    # The starting values of fit_bgnbd: r/α the mean purchase rate, a mild dropout prior.
    mean_rate = float(np.dot(w, x) / max(float(np.dot(w, T)), 1e-9))
    start = [1.0, 1.0 / max(mean_rate, 1e-6), 1.0, 3.0]
    params, ll = maximise(negative_ll, start, model="MBG/NBD", scale=customers)
    r, alpha, a, b = (float(v) for v in params)
    return MBGNBD(r=r, alpha=alpha, a=a, b=b, log_likelihood=ll, customers=customers)
