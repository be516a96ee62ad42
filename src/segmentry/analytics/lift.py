"""How sure we are: the statistics of a campaign's lift, treated against holdout.

Pure functions of summary figures (counts, sums, sums of squares), so the warehouse does the
heavy work (:mod:`segmentry.analytics.campaign_outcomes`) and the statistics stay cheap and
testable. Every interval is two-sided at ``confidence`` (95 % by default); every difference is
*treated − holdout*. The formulas, and what the verdict means, are in docs/campaigns.md
("Measurement: how sure we are").

- Proportions (conversion): :func:`proportion_lift` — Newcombe's hybrid score interval for the
  difference (method 10 of Newcombe 1998, built from Wilson intervals), the pooled
  two-proportion z-test, the Katz log interval for the ratio.
- Means (revenue or orders per customer): :func:`mean_lift` — Welch's t interval and test
  (Welch 1947), the ratio of means by the delta method on the log scale.
- Heavy-tailed revenue: :func:`bootstrap_mean_difference` — a seeded bootstrap-t (Efron &
  Tibshirani 1993, ch. 12; BCa and percentile on request), fed only the non-zero values (a
  customer who did not order contributed 0, so the zeros need only be counted).
- AOV: :func:`aov_difference` — ratio of sums, delta method.
- :func:`incremental` — a per-customer difference times the treated count.
- :func:`minimum_detectable_effect` — what the sizes at hand could detect (α 0.05, power 0.8).

>>> r = proportion_lift(GroupCounts(10_000, 600), GroupCounts(10_000, 500))
>>> round(r.difference.estimate, 4), r.difference.verdict, round(r.difference.low, 4)
(0.01, 'positive', 0.0037)
>>> r = proportion_lift(GroupCounts(900, 54), GroupCounts(100, 5))
>>> r.difference.verdict
'too_small_to_tell'
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from scipy.special import ndtr, ndtri, stdtr, stdtrit

__all__ = [
    "ALPHA",
    "POWER",
    "BootstrapMethod",
    "Estimate",
    "GroupCounts",
    "GroupMoments",
    "GroupRatio",
    "Lift",
    "Verdict",
    "aov_difference",
    "bootstrap_mean_difference",
    "incremental",
    "mean_lift",
    "minimum_detectable_effect",
    "proportion_lift",
    "verdict_of",
    "welch",
    "wilson",
]

ALPHA = 0.05  # the test's size, and 1 − the confidence of every interval by default
POWER = 0.8  # the power the minimum detectable effect is computed for

BootstrapMethod = Literal["studentized", "bca", "percentile"]

# positive: the whole interval is above zero; negative: below; too_small_to_tell: it crosses
# zero (or there is no interval: an empty group, no variation).
Verdict = Literal["positive", "negative", "too_small_to_tell"]


@dataclass(frozen=True)
class GroupCounts:
    """A group's size and how many in it converted (ordered at least once)."""

    customers: int
    converted: int

    def __post_init__(self) -> None:
        if self.customers < 0 or not 0 <= self.converted <= self.customers:
            raise ValueError(f"converted must be within 0..customers, got {self}")


@dataclass(frozen=True)
class GroupMoments:
    """Sufficient statistics of one per-customer value (revenue, orders) over a group:
    ``customers`` (n), ``total`` (Σx) and ``squares`` (Σx²)."""

    customers: int
    total: float
    squares: float

    @property
    def mean(self) -> float:
        return self.total / self.customers if self.customers else math.nan

    @property
    def variance(self) -> float:
        """The sample variance (n − 1 in the denominator); NaN below two customers."""
        n = self.customers
        if n < 2:
            return math.nan
        # NOTE: Σx² − (Σx)²/n loses precision only when the mean dwarfs the spread, which
        # per-customer revenue (mostly zeros) never does; clipped at 0 against rounding.
        return max(self.squares - self.total * self.total / n, 0.0) / (n - 1)


@dataclass(frozen=True)
class GroupRatio:
    """What a ratio of sums over a group needs (AOV = revenue ÷ orders): n, Σy, Σx, Σy²,
    Σx², Σxy with y the numerator (revenue) and x the denominator (orders) per customer."""

    customers: int
    numerator: float
    denominator: float
    numerator_squares: float
    denominator_squares: float
    products: float

    @property
    def ratio(self) -> float:
        return self.numerator / self.denominator if self.denominator else math.nan

    def ratio_variance(self) -> float:
        """Delta-method variance of Σy/Σx: (s_y² − 2R s_xy + R² s_x²) / (n x̄²)."""
        n, r = self.customers, self.ratio
        if n < 2 or not self.denominator:
            return math.nan
        mx, my = self.denominator / n, self.numerator / n
        sxx = (self.denominator_squares - n * mx * mx) / (n - 1)
        syy = (self.numerator_squares - n * my * my) / (n - 1)
        sxy = (self.products - n * mx * my) / (n - 1)
        return max(syy - 2 * r * sxy + r * r * sxx, 0.0) / (n * mx * mx)


@dataclass(frozen=True)
class Estimate:
    """One figure with its interval, p-value and verdict.

    ``low``/``high`` are None when the interval does not exist (an empty group, no
    conversion to take a ratio of); ``p_value`` is None when the method gives none (the
    ratio intervals, the bootstrap). ``method`` names the formula, as in docs/campaigns.md.
    """

    estimate: float
    low: float | None
    high: float | None
    p_value: float | None
    method: str
    verdict: Verdict

    def scaled(self, factor: float) -> Estimate:
        """The same estimate in other units (a per-customer figure × customers)."""
        lo = None if self.low is None else self.low * factor
        hi = None if self.high is None else self.high * factor
        if factor < 0:
            lo, hi = hi, lo
        return replace(self, estimate=self.estimate * factor, low=lo, high=hi)


@dataclass(frozen=True)
class Lift:
    """Treated against holdout on one measure: both levels, the absolute difference, the
    relative lift (treated ÷ holdout − 1) and the smallest absolute difference these group
    sizes would detect (α 0.05, power 0.8; None when it cannot be computed)."""

    treated: float
    holdout: float
    difference: Estimate
    relative: Estimate
    minimum_detectable_effect: float | None


def verdict_of(low: float | None, high: float | None) -> Verdict:
    """``too_small_to_tell`` unless the interval lies wholly on one side of zero.

    >>> verdict_of(-0.1, 0.3), verdict_of(0.01, 0.3), verdict_of(None, None)
    ('too_small_to_tell', 'positive', 'too_small_to_tell')
    """
    if low is None or high is None or math.isnan(low) or math.isnan(high):
        return "too_small_to_tell"
    if low > 0:
        return "positive"
    if high < 0:
        return "negative"
    return "too_small_to_tell"


def _z(confidence: float) -> float:
    return float(ndtri(1 - (1 - confidence) / 2))


def _estimate(value: float, low: float | None, high: float | None, p: float | None,
              method: str) -> Estimate:
    return Estimate(value, low, high, p, method, verdict_of(low, high))


def wilson(converted: int, customers: int, confidence: float = 1 - ALPHA) -> tuple[float, float]:
    """Wilson's score interval for one proportion (Newcombe 1998's method 3, no continuity
    correction): (2x + z² ± z√(z² + 4x(1 − x/n))) / (2(n + z²)).

    >>> [round(v, 4) for v in wilson(56, 70)]
    [0.6918, 0.877]
    """
    if customers == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    x, n = converted, customers
    centre, z2 = 2 * x + z * z, z * z
    half = z * math.sqrt(z2 + 4 * x * (1 - x / n))
    return (max((centre - half) / (2 * (n + z2)), 0.0), min((centre + half) / (2 * (n + z2)), 1.0))


def proportion_lift(treated: GroupCounts, holdout: GroupCounts,
                    confidence: float = 1 - ALPHA) -> Lift:
    """Conversion, treated against holdout.

    - difference: Newcombe's hybrid score interval (1998, method 10): with Wilson limits
      (l₁, u₁), (l₂, u₂) of p₁ (treated) and p₂ (holdout),
      low = δ − √((p₁ − l₁)² + (u₂ − p₂)²), high = δ + √((u₁ − p₁)² + (p₂ − l₂)²);
      p-value of the pooled two-proportion z-test.
    - relative (p₁/p₂ − 1): the Katz log interval
      exp(log(p₁/p₂) ± z√(1/x₁ − 1/n₁ + 1/x₂ − 1/n₂)) − 1, none when either group has no
      conversion.
    """
    n1, x1, n2, x2 = treated.customers, treated.converted, holdout.customers, holdout.converted
    p1 = x1 / n1 if n1 else math.nan
    p2 = x2 / n2 if n2 else math.nan
    mde = minimum_detectable_effect(n1, n2, math.sqrt(p2 * (1 - p2)) if n2 else math.nan)
    if not n1 or not n2:
        none = _estimate(p1 - p2, None, None, None, "newcombe_hybrid_score")
        return Lift(p1, p2, none, replace(none, estimate=math.nan, method="katz_log"), mde)
    l1, u1 = wilson(x1, n1, confidence)
    l2, u2 = wilson(x2, n2, confidence)
    delta = p1 - p2
    low = delta - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = delta + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p = 2 * float(ndtr(-abs(delta) / se0)) if se0 > 0 else 1.0
    difference = _estimate(delta, low, high, p, "newcombe_hybrid_score")
    return Lift(p1, p2, difference, _katz(x1, n1, x2, n2, confidence), mde)


def _katz(x1: int, n1: int, x2: int, n2: int, confidence: float) -> Estimate:
    if not x1 or not x2:
        ratio = (x1 / n1) / (x2 / n2) - 1 if x2 else math.nan
        return _estimate(ratio, None, None, None, "katz_log")
    log_ratio = math.log((x1 / n1) / (x2 / n2))
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x2 - 1 / n2)
    z = _z(confidence)
    return _estimate(math.exp(log_ratio) - 1, math.exp(log_ratio - z * se) - 1,
                     math.exp(log_ratio + z * se) - 1, None, "katz_log")


def welch(treated: GroupMoments, holdout: GroupMoments,
          confidence: float = 1 - ALPHA) -> Estimate:
    """Welch's t interval and test for the difference of means (Welch 1947):
    se = √(s₁²/n₁ + s₂²/n₂), degrees of freedom by Welch–Satterthwaite,
    (s₁²/n₁ + s₂²/n₂)² / ((s₁²/n₁)²/(n₁ − 1) + (s₂²/n₂)²/(n₂ − 1)).

    >>> e = welch(GroupMoments(3, 6.0, 14.0), GroupMoments(3, 3.0, 5.0))
    >>> round(e.estimate, 4), round(e.p_value, 4)
    (1.0, 0.2879)
    """
    delta = treated.mean - holdout.mean
    v1 = treated.variance / treated.customers if treated.customers else math.nan
    v2 = holdout.variance / holdout.customers if holdout.customers else math.nan
    se2 = v1 + v2
    if not se2 > 0:  # NaN (a group under two customers) or no variation at all
        return _estimate(delta, None, None, None, "welch_t")
    df = se2 * se2 / (v1 * v1 / (treated.customers - 1) + v2 * v2 / (holdout.customers - 1))
    se = math.sqrt(se2)
    # NOTE: scipy.special's t functions, not scipy.stats.t: the same values, 7× faster
    t = float(stdtrit(df, 1 - (1 - confidence) / 2))
    p = 2 * float(stdtr(df, -abs(delta) / se))
    return _estimate(delta, delta - t * se, delta + t * se, p, "welch_t")


def _ratio_of_means(treated: GroupMoments, holdout: GroupMoments, confidence: float) -> Estimate:
    """m₁/m₂ − 1 with exp(log(m₁/m₂) ± z√(s₁²/(n₁m₁²) + s₂²/(n₂m₂²))) − 1 (delta method on the
    log scale); none unless both means are positive."""
    m1, m2 = treated.mean, holdout.mean
    if not (m1 > 0 and m2 > 0) or treated.customers < 2 or holdout.customers < 2:
        ratio = m1 / m2 - 1 if m2 else math.nan
        return _estimate(ratio, None, None, None, "log_ratio_delta")
    se = math.sqrt(treated.variance / (treated.customers * m1 * m1)
                   + holdout.variance / (holdout.customers * m2 * m2))
    z, log_ratio = _z(confidence), math.log(m1 / m2)
    return _estimate(m1 / m2 - 1, math.exp(log_ratio - z * se) - 1,
                     math.exp(log_ratio + z * se) - 1, None, "log_ratio_delta")


def mean_lift(treated: GroupMoments, holdout: GroupMoments,
              confidence: float = 1 - ALPHA) -> Lift:
    """A per-customer mean (revenue, orders), treated against holdout: Welch for the
    difference, the delta method on the log scale for the relative lift, and the minimum
    detectable effect with the holdout's standard deviation."""
    sd = math.sqrt(holdout.variance) if holdout.customers >= 2 else math.nan
    return Lift(treated.mean, holdout.mean, welch(treated, holdout, confidence),
                _ratio_of_means(treated, holdout, confidence),
                minimum_detectable_effect(treated.customers, holdout.customers, sd))


def aov_difference(treated: GroupRatio, holdout: GroupRatio,
                   confidence: float = 1 - ALPHA) -> Lift:
    """Average order value (revenue ÷ orders over the group: a ratio of sums, so a customer
    with three orders weighs three times), treated against holdout. The interval is normal
    with the delta-method variance of each ratio (:meth:`GroupRatio.ratio_variance`); the p
    value is the matching z-test. Only customers who ordered carry information, so the
    comparison conditions on ordering: read it beside the conversion lift."""
    r1, r2 = treated.ratio, holdout.ratio
    v = treated.ratio_variance() + holdout.ratio_variance()
    z = _z(confidence)
    if v > 0:
        se = math.sqrt(v)
        diff = _estimate(r1 - r2, r1 - r2 - z * se, r1 - r2 + z * se,
                         2 * float(ndtr(-abs(r1 - r2) / se)), "ratio_delta")
        rel = _estimate(r1 / r2 - 1, (r1 - r2 - z * se) / r2, (r1 - r2 + z * se) / r2, None,
                        "ratio_delta") if r2 > 0 else _estimate(math.nan, None, None, None,
                                                                "ratio_delta")
    else:
        diff = _estimate(r1 - r2, None, None, None, "ratio_delta")
        rel = _estimate(r1 / r2 - 1 if r2 else math.nan, None, None, None, "ratio_delta")
    return Lift(r1, r2, diff, rel, None)


def incremental(difference: Estimate, treated_customers: int) -> Estimate:
    """What the campaign earned that would not have come anyway: a per-customer difference
    (revenue per customer, Welch or bootstrap) times the treated count, interval and all.

    >>> e = incremental(Estimate(12.5, -1.0, 26.0, 0.07, "welch_t", "too_small_to_tell"), 1000)
    >>> e.estimate, e.low, e.high, e.verdict
    (12500.0, -1000.0, 26000.0, 'too_small_to_tell')
    """
    return difference.scaled(treated_customers)


def minimum_detectable_effect(treated: int, holdout: int, sd: float, alpha: float = ALPHA,
                              power: float = POWER) -> float | None:
    """The smallest true difference a two-sided test at ``alpha`` would find with
    probability ``power``: (z₁₋α/₂ + z_power) · sd · √(1/n₁ + 1/n₂), with sd the holdout's
    standard deviation (√(p(1 − p)) for a proportion). None without a usable sd.

    >>> round(minimum_detectable_effect(10_000, 1_000, 0.5 ** 0.5 * 0.5 ** 0.5), 4)
    0.0465
    """
    if not treated or not holdout or not sd > 0:
        return None
    z = float(ndtri(1 - alpha / 2) + ndtri(power))
    return z * sd * math.sqrt(1 / treated + 1 / holdout)


def bootstrap_mean_difference(
    treated: np.ndarray, treated_customers: int, holdout: np.ndarray, holdout_customers: int,
    *, resamples: int = 2000, seed: int = 0, confidence: float = 1 - ALPHA,
    method: BootstrapMethod = "studentized",
) -> Estimate:
    """A bootstrap interval for the difference of per-customer means (revenue per customer),
    for heavy-tailed values where Welch's normal approximation may be off.

    ``treated``/``holdout`` hold the values of the customers who ordered; the other
    ``customers − len(values)`` contributed exactly 0. Each resample draws n customers
    with replacement: the number landing on a customer who ordered is Binomial(n, k/n), and
    those are drawn uniformly among the k — the same distribution as resampling all n, at
    the cost of the k. Methods (Efron & Tibshirani 1993):

    - ``studentized`` (bootstrap-t, §12.5; the default): t* = (d* − d̂)/se* per resample, the
      interval d̂ − t*₁₋α/₂·se, d̂ − t*α/₂·se with Welch's se; it follows the skew of
      revenue, where the others run narrow (docs/campaigns.md gives the coverage measured);
    - ``bca`` (§14.3): bias correction z₀ from the share of resampled differences below the
      observed one, acceleration from the exact jackknife of a mean, as
      :func:`scipy.stats.bootstrap` computes them;
    - ``percentile`` (§13.3): plain quantiles of d*.

    Seeded: the same inputs and seed give the same interval.
    """
    t = np.asarray(treated, dtype=np.float64)
    h = np.asarray(holdout, dtype=np.float64)
    name = f"bootstrap_{method}"
    if treated_customers < 2 or holdout_customers < 2:
        return _estimate(math.nan, None, None, None, name)
    observed = float(t.sum() / treated_customers - h.sum() / holdout_customers)
    rng = np.random.default_rng(seed)
    m1, v1 = _resampled_moments(t, treated_customers, resamples, rng)
    m2, v2 = _resampled_moments(h, holdout_customers, resamples, rng)
    diffs = m1 - m2
    alpha = (1 - confidence) / 2
    if method == "studentized":
        se = math.sqrt(_variance(t, treated_customers) / treated_customers
                       + _variance(h, holdout_customers) / holdout_customers)
        se_b = np.sqrt(v1 / treated_customers + v2 / holdout_customers)
        ok = se_b > 0
        if not se > 0 or not ok.any():
            return _estimate(observed, None, None, None, name)
        q_lo, q_hi = np.percentile((diffs[ok] - observed) / se_b[ok], [100 * alpha,
                                                                      100 * (1 - alpha)])
        return _estimate(observed, observed - float(q_hi) * se, observed - float(q_lo) * se,
                         None, name)
    if method == "percentile":
        lo, hi = np.percentile(diffs, [100 * alpha, 100 * (1 - alpha)])
        return _estimate(observed, float(lo), float(hi), None, name)
    share = ((diffs < observed).sum() + (diffs <= observed).sum()) / (2 * resamples)
    z0 = float(ndtri(share))
    a = _acceleration(t, treated_customers, h, holdout_customers)
    za, z1a = float(ndtri(alpha)), float(ndtri(1 - alpha))
    p_lo = float(ndtr(z0 + (z0 + za) / (1 - a * (z0 + za))))
    p_hi = float(ndtr(z0 + (z0 + z1a) / (1 - a * (z0 + z1a))))
    if not (math.isfinite(p_lo) and math.isfinite(p_hi)):  # every resample on one side
        return _estimate(observed, None, None, None, name)
    lo, hi = np.percentile(diffs, [100 * p_lo, 100 * p_hi])
    return _estimate(observed, float(lo), float(hi), None, name)


# Values drawn at once: small enough (16 MB) for the allocator to reuse the memory rather
# than map fresh pages for every batch, which tripled the time.
_CHUNK = 2_000_000


def _variance(values: np.ndarray, customers: int) -> float:
    """The sample variance of ``customers`` values, all zero but ``values``."""
    return GroupMoments(customers, float(values.sum()), float((values * values).sum())).variance


def _resampled_moments(values: np.ndarray, customers: int, resamples: int,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``resamples`` bootstrap means and sample variances of ``customers`` values, all zero
    but ``values``."""
    k = len(values)
    if k == 0:
        return np.zeros(resamples), np.zeros(resamples)
    hits = rng.binomial(customers, k / customers, size=resamples)
    sums, squares = np.zeros(resamples), np.zeros(resamples)
    start = 0
    while start < resamples:  # batches of resamples, so the draws fit in memory
        stop = start + max(1, int(np.searchsorted(np.cumsum(hits[start:]), _CHUNK, "right")))
        counts = hits[start:stop]
        picked = values[rng.integers(0, k, size=int(counts.sum()), dtype=np.int32)]
        filled = np.flatnonzero(counts)  # NOTE: reduceat mishandles empty slices
        if len(filled):
            offsets = (np.cumsum(counts) - counts)[filled]
            sums[start + filled] = np.add.reduceat(picked, offsets)
            squares[start + filled] = np.add.reduceat(picked * picked, offsets)
        start = stop
    means = sums / customers
    variances = np.maximum(squares - sums * means, 0.0) / (customers - 1)
    return means, variances


def _acceleration(t: np.ndarray, n1: int, h: np.ndarray, n2: int) -> float:
    """BCa's â for m₁ − m₂ from the jackknife, in closed form. Leaving customer i out moves
    a mean by (xᵢ − x̄)/(n − 1), so scipy's U = (n − 1)(θ̄ − θ₍ᵢ₎) is ±(xᵢ − x̄) (minus for the
    holdout); the zeros' terms are counted, not enumerated. As :func:`scipy.stats.bootstrap`
    does for several samples, both groups' terms are pooled:
    â = Σⱼ Σᵢ U³/nⱼ³ / (6 (Σⱼ Σᵢ U²/nⱼ²)^{3/2})."""
    num = den = 0.0
    for values, n, sign in ((t, n1, 1.0), (h, n2, -1.0)):
        mean = values.sum() / n
        dev = values - mean
        zeros = n - len(values)
        # scipy's U_i = (n − 1)(θ̄ − θ₍ᵢ₎) = (xᵢ − x̄) for a mean, then divides by n
        s2 = (np.sum(dev * dev) + zeros * mean * mean) / n**2
        s3 = (np.sum(dev**3) + zeros * (-mean) ** 3) / n**3
        num += sign * s3
        den += s2
    return num / (6 * den**1.5) if den > 0 else 0.0
