"""The Gamma-Gamma model of spend per order (Fader, Hardie & Lee 2005, "RFM and CLV").

The value of each of a customer's orders is Gamma(p, ν); her ν varies across customers as
Gamma(q, γ). It is fitted on customers with at least one repeat order, on the mean value
m_x of their x repeat orders, and assumes spend is independent of how often one buys.

Formulas from P. S. Fader, B. G. S. Hardie and K. L. Lee, "RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis", *Journal of Marketing Research* 42(4), 2005, 415-430, and B. G. S.
Hardie's note "The Gamma-Gamma Model of Monetary Value" (2013): the likelihood of m_x is
equation (1) of the note, the conditional expectation equation (5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaln, gammaln

from ._fit import ModelFitError, maximise

__all__ = ["GammaGamma", "fit_gamma_gamma"]

MIN_CUSTOMERS = 10


@dataclass(frozen=True)
class GammaGamma:
    """Fitted Gamma-Gamma parameters (``gamma`` in the shop's currency)."""

    p: float
    q: float
    gamma: float
    log_likelihood: float
    customers: int

    @property
    def population_mean(self) -> float:
        """E(M): the mean spend per order across customers, p·γ/(q − 1) (needs q > 1)."""
        return self.p * self.gamma / (self.q - 1.0) if self.q > 1 else float("nan")

    def expected_spend(self, frequency: np.ndarray, monetary: np.ndarray) -> np.ndarray:
        """E(M | m_x, x) = p(γ + x·m_x)/(p·x + q − 1): a weighted mean of the population mean
        and the customer's own mean (note, eq. 5). A customer without repeat orders gets the
        population mean.

        >>> gg = GammaGamma(p=6.25, q=3.74, gamma=15.44, log_likelihood=0, customers=0)
        >>> [round(float(v), 2) for v in gg.expected_spend(np.array([0, 2]), np.array([0, 50]))]
        [35.22, 47.34]
        """
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary, dtype=float)
        own = self.p * (self.gamma + x * m) / (self.p * x + self.q - 1.0)
        return np.where(x > 0, own, self.population_mean)


def _log_likelihood(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    p, q, gamma = params
    px = p * x
    return (
        gammaln(px + q) - gammaln(px) - gammaln(q)
        + q * np.log(gamma) + (px - 1.0) * np.log(m) + px * np.log(x)
        - (px + q) * np.log(gamma + x * m)
    )


def fit_gamma_gamma(
    frequency: np.ndarray, monetary: np.ndarray, *, weights: np.ndarray | None = None
) -> GammaGamma:
    """Fit Gamma-Gamma on customers with ``frequency`` > 0 and ``monetary`` (mean repeat-order
    value) > 0; others are ignored. Raises :class:`ModelFitError` if fewer than ten remain."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if not (x.shape == m.shape == w.shape):
        raise ModelFitError("frequency and monetary must have one length.", code="model_bad_input")
    keep = (x > 0) & (m > 0) & np.isfinite(m) & (w > 0)
    x, m, w = x[keep], m[keep], w[keep]
    if w.sum() < MIN_CUSTOMERS:
        raise ModelFitError(
            "Gamma-Gamma needs at least {min} customers with a repeat order; there are {n}.",
            code="model_too_few_customers", params={"min": MIN_CUSTOMERS, "n": int(w.sum())},
            hint="Fit again when more customers have ordered twice.",
        )

    # Sorted, so that the sums (and so the optimum found) do not depend on the row order.
    order = np.lexsort((m, x))
    x, m, w = x[order], m[order], w[order]
    # The terms of _log_likelihood rearranged to stay exact when p grows without bound (the
    # optimum of a shop whose customers spend about the same on every order, see
    # docs/predictive.md): lnΓ(px+q) − lnΓ(px) − lnΓ(q) is −ln B(px, q), which scipy computes
    # asymptotically for large px, and px·ln(xm) − (px+q)·ln(γ+xm) is
    # −px·ln(1 + γ/xm) − q·ln(γ+xm). What does not depend on the parameters is computed once,
    # the beta function over the distinct x only.
    ux, ix = np.unique(x, return_inverse=True)
    log_m, xm = np.log(m), x * m
    w_log_m_total = float(np.dot(w, log_m))

    def negative_ll(log_params: np.ndarray) -> float:
        p, q, gamma = np.exp(log_params)
        by_x = -betaln(p * ux, q)
        ll = (by_x[ix] + q * (np.log(gamma) - np.log(gamma + xm))
              - p * x * np.log1p(gamma / xm))
        return -(float(np.dot(w, ll)) - w_log_m_total)

    # Method-of-moments flavour: p = 1 per order, q = 2 gives E(M) = γ, so γ = mean m_x.
    start = [1.0, 2.0, float(np.average(m, weights=w))]
    params, ll = maximise(negative_ll, start, model="Gamma-Gamma", scale=float(w.sum()))
    p, q, gamma = (float(v) for v in params)
    return GammaGamma(p=p, q=q, gamma=gamma, log_likelihood=ll, customers=int(w.sum()))
