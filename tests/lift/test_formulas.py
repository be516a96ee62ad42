"""Every interval formula of ``segmentry.analytics.lift`` against an independent reference on
fixed inputs: statsmodels and scipy, published values (Newcombe 1998, Table II, method 10;
Fagerland, Lydersen & Laake 2015), and brute-force computations on the raw values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_confint,
    proportions_ztest,
)
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from segmentry.analytics.lift import (
    Estimate,
    GroupCounts,
    GroupMoments,
    GroupRatio,
    _acceleration,
    _resampled_moments,
    aov_difference,
    bootstrap_mean_difference,
    incremental,
    mean_lift,
    minimum_detectable_effect,
    proportion_lift,
    verdict_of,
    welch,
    wilson,
)

# (treated converted, treated n, holdout converted, holdout n)
PROPORTIONS = [(56, 70, 48, 80), (9, 10, 3, 10), (6, 7, 2, 7), (5, 56, 0, 29), (0, 10, 0, 20),
               (10, 10, 0, 20), (7, 34, 1, 34), (612, 10_000, 48, 1_000),
               (30_512, 900_000, 3_170, 100_000), (1, 2, 1, 1)]


def _lift(x1: int, n1: int, x2: int, n2: int):  # type: ignore[no-untyped-def]
    return proportion_lift(GroupCounts(n1, x1), GroupCounts(n2, x2))


# Newcombe (1998), "Interval estimation for the difference between independent proportions:
# comparison of eleven methods", Stat Med 17:873-890, Table II, method 10, to 4 places.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_matches_the_published_table(counts, published) -> None:  # type: ignore[no-untyped-def]
    d = _lift(*counts).difference
    assert (round(d.low, 4), round(d.high, 4)) == published


def test_newcombe_and_katz_match_fagerland_2015() -> None:
    # Perondi et al. 2004 (7/34 vs 1/34), Fagerland, Lydersen & Laake (2015), "Statistical
    # Analysis of Contingency Tables", ch. 4: Newcombe 0.019 to 0.34, Katz log 0.91 to 54.
    r = _lift(7, 34, 1, 34)
    assert (round(r.difference.low, 3), round(r.difference.high, 2)) == (0.019, 0.34)
    assert (round(r.relative.low + 1, 2), round(r.relative.high + 1)) == (0.91, 54)


@pytest.mark.parametrize("counts", PROPORTIONS)
def test_newcombe_matches_statsmodels(counts: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = counts
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    d = _lift(*counts).difference
    assert d.estimate == pytest.approx(x1 / n1 - x2 / n2, abs=1e-15)
    assert (d.low, d.high) == pytest.approx((low, high), abs=1e-12)


@pytest.mark.parametrize("counts", PROPORTIONS)
def test_wilson_matches_statsmodels(counts: tuple[int, int, int, int]) -> None:
    x1, n1, _, _ = counts
    assert wilson(x1, n1) == pytest.approx(proportion_confint(x1, n1, method="wilson"), abs=1e-12)
    assert wilson(x1, n1, 0.9) == pytest.approx(
        proportion_confint(x1, n1, alpha=0.1, method="wilson"), abs=1e-12)


@pytest.mark.parametrize("counts", [c for c in PROPORTIONS if c[0] + c[2] not in (0, c[1] + c[3])])
def test_the_p_value_is_the_pooled_two_proportion_z_test(counts: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = counts
    _, p = proportions_ztest([x1, x2], [n1, n2])
    assert _lift(*counts).difference.p_value == pytest.approx(p, rel=1e-9)


@pytest.mark.parametrize("counts", [c for c in PROPORTIONS if c[0] and c[2]])
def test_relative_lift_is_katz_log_interval(counts: tuple[int, int, int, int]) -> None:
    x1, n1, x2, n2 = counts
    low, high = confint_proportions_2indep(x1, n1, x2, n2, method="log", compare="ratio")
    r = _lift(*counts).relative
    assert r.estimate == pytest.approx((x1 / n1) / (x2 / n2) - 1, rel=1e-12)
    assert (r.low, r.high) == pytest.approx((low - 1, high - 1), rel=1e-9)


def test_no_ratio_without_a_conversion_in_either_group() -> None:
    r = _lift(5, 56, 0, 29).relative
    assert (r.low, r.high, r.verdict) == (None, None, "too_small_to_tell")


def _heavy(seed: int, n: int, rate: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < rate, np.round(rng.lognormal(8, 1.2, n)), 0.0)


def _moments(x: np.ndarray) -> GroupMoments:
    return GroupMoments(len(x), float(x.sum()), float((x * x).sum()))


SAMPLES = [(_heavy(1, 3000, 0.06), _heavy(2, 800, 0.05)),
           (np.array([3.0, 1, 2]), np.array([1.0, 1, 1, 0])),
           (np.random.default_rng(3).normal(10, 2, 50), np.random.default_rng(4).normal(9, 5, 20))]


@pytest.mark.parametrize(("t", "h"), SAMPLES)
def test_welch_matches_scipy_and_statsmodels(t: np.ndarray, h: np.ndarray) -> None:
    e = welch(_moments(t), _moments(h))
    ref = stats.ttest_ind(t, h, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert e.estimate == pytest.approx(t.mean() - h.mean(), rel=1e-10)
    assert e.p_value == pytest.approx(ref.pvalue, rel=1e-8)
    assert (e.low, e.high) == pytest.approx((ci.low, ci.high), rel=1e-8)
    sm = CompareMeans(DescrStatsW(t), DescrStatsW(h)).tconfint_diff(alpha=0.1, usevar="unequal")
    e90 = welch(_moments(t), _moments(h), confidence=0.9)
    assert (e90.low, e90.high) == pytest.approx(sm, rel=1e-8)


def test_welch_gives_no_interval_without_variation() -> None:
    e = welch(GroupMoments(5, 0.0, 0.0), GroupMoments(3, 0.0, 0.0))
    assert (e.low, e.high, e.p_value, e.verdict) == (None, None, None, "too_small_to_tell")


@pytest.mark.parametrize(("t", "h"), SAMPLES[:1] + SAMPLES[2:])
def test_ratio_of_means_is_the_log_scale_delta_method(t: np.ndarray, h: np.ndarray) -> None:
    # the reference: the standard error of log(mean) by the delta method, from the raw values
    se = math.hypot(t.std(ddof=1) / (math.sqrt(len(t)) * t.mean()),
                    h.std(ddof=1) / (math.sqrt(len(h)) * h.mean()))
    z = stats.norm.ppf(0.975)
    ratio = t.mean() / h.mean()
    r = mean_lift(_moments(t), _moments(h)).relative
    assert r.estimate == pytest.approx(ratio - 1, rel=1e-10)
    assert (r.low, r.high) == pytest.approx((ratio * math.exp(-z * se) - 1,
                                             ratio * math.exp(z * se) - 1), rel=1e-8)


def _ratio_group(revenue: np.ndarray, orders: np.ndarray) -> GroupRatio:
    return GroupRatio(len(revenue), float(revenue.sum()), float(orders.sum()),
                      float((revenue**2).sum()), float((orders**2).sum()),
                      float((revenue * orders).sum()))


def _orders_and_revenue(seed: int, n: int, rate: float, aov: float):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    orders = np.where(rng.random(n) < rate, rng.poisson(0.4, n) + 1, 0).astype(float)
    revenue = np.array([rng.gamma(2.0, aov / 2, int(k)).sum() for k in orders])
    return revenue, orders


def test_aov_difference_is_the_delta_method_of_a_ratio_of_sums() -> None:
    ry, rx = _orders_and_revenue(5, 2000, 0.3, 5000)
    hy, hx = _orders_and_revenue(6, 1000, 0.25, 4500)
    lift = aov_difference(_ratio_group(ry, rx), _ratio_group(hy, hx))
    # reference: the linearised ratio, (yᵢ − R xᵢ)/x̄ per customer, its mean's variance
    def var(y: np.ndarray, x: np.ndarray) -> float:
        r = y.sum() / x.sum()
        return float(np.var((y - r * x) / x.mean(), ddof=1) / len(y))
    se = math.sqrt(var(ry, rx) + var(hy, hx))
    diff = ry.sum() / rx.sum() - hy.sum() / hx.sum()
    z = stats.norm.ppf(0.975)
    d = lift.difference
    assert (d.estimate, d.low, d.high) == pytest.approx((diff, diff - z * se, diff + z * se),
                                                         rel=1e-9)
    assert d.p_value == pytest.approx(2 * stats.norm.sf(abs(diff) / se), rel=1e-9)
    # and the delta method agrees with scipy's bootstrap of the same statistic
    boot = stats.bootstrap(
        (np.stack([ry, rx]), np.stack([hy, hx])),  # each sample: (revenue, orders) × customers
        lambda a, b, axis: a[0].sum(axis) / a[1].sum(axis) - b[0].sum(axis) / b[1].sum(axis),
        axis=-1, n_resamples=3000, method="percentile", rng=np.random.default_rng(7),
        vectorized=True,
    ).confidence_interval
    width = d.high - d.low
    assert abs(boot.low - d.low) < 0.06 * width and abs(boot.high - d.high) < 0.06 * width


@pytest.mark.parametrize(("n1", "n2", "sd"), [(10_000, 1_000, 0.2179), (900_000, 100_000, 0.2),
                                              (500, 500, 3000.0)])
def test_minimum_detectable_effect_matches_statsmodels_power(n1: int, n2: int, sd: float) -> None:
    mde = minimum_detectable_effect(n1, n2, sd)
    assert mde is not None
    # statsmodels' power of the two-sided z-test at that effect (it also counts the far tail's
    # rejections, under 1e-6 here)
    power = NormalIndPower().power(effect_size=mde / sd, nobs1=n1, ratio=n2 / n1, alpha=0.05,
                                   alternative="two-sided")
    assert power == pytest.approx(0.8, abs=1e-6)


def test_the_conversion_mde_uses_the_holdout_rate() -> None:
    r = _lift(612, 10_000, 48, 1_000)
    p = 48 / 1000
    assert r.minimum_detectable_effect == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * math.sqrt(p * (1 - p) * (1 / 10_000
                                                                              + 1 / 1_000)))
    assert minimum_detectable_effect(10, 0, 1.0) is None


def test_incremental_revenue_scales_the_per_customer_difference() -> None:
    e = incremental(Estimate(2.5, -0.5, 5.5, 0.1, "welch_t", "too_small_to_tell"), 40_000)
    assert (e.estimate, e.low, e.high, e.p_value) == (100_000.0, -20_000.0, 220_000.0, 0.1)


def test_the_verdict_says_too_small_to_tell_when_the_interval_crosses_zero() -> None:
    assert verdict_of(-1.0, 2.0) == "too_small_to_tell"
    assert verdict_of(0.0, 2.0) == "too_small_to_tell"
    assert verdict_of(0.5, 2.0) == "positive"
    assert verdict_of(-2.0, -0.1) == "negative"
    assert _lift(6, 100, 5, 100).difference.verdict == "too_small_to_tell"
    assert _lift(60_000, 1_000_000, 5_000, 100_000).difference.verdict == "positive"
    assert _lift(40_000, 1_000_000, 5_000, 100_000).difference.verdict == "negative"


# -- the bootstrap ----------------------------------------------------------------------------


def test_resampling_only_the_customers_who_ordered_is_the_ordinary_bootstrap() -> None:
    x = _heavy(8, 2000, 0.07)
    means, variances = _resampled_moments(x[x != 0], len(x), 40_000, np.random.default_rng(9))
    # the ordinary bootstrap mean has mean x̄ and variance σ²/n (σ² with n in the denominator)
    assert means.mean() == pytest.approx(x.mean(), rel=0.005)
    assert means.std() == pytest.approx(x.std() / math.sqrt(len(x)), rel=0.02)
    full = np.random.default_rng(10).choice(x, size=(4000, len(x)))
    assert stats.ks_2samp(means[:4000], full.mean(axis=1)).pvalue > 0.01
    assert stats.ks_2samp(variances[:4000], full.var(axis=1, ddof=1)).pvalue > 0.01


def test_each_resample_s_variance_is_that_of_its_values() -> None:
    values = np.array([5.0, 7.0, 100.0])
    # one value drawn per resample (hits ~ Binomial(n, k/n) with n = k = 3 … any draw): check
    # against the variance of the implied full sample, zeros included
    means, variances = _resampled_moments(values, 10, 200, np.random.default_rng(1))
    for m, v in zip(means, variances, strict=True):
        # a resample of 10 with sum 10·m and some of the 3 values: its variance is
        # (Σx² − n m²)/(n − 1) ≥ 0, and 0 only when every value drawn is 0
        assert v >= 0 and (v > 0) == (m > 0)


def test_the_acceleration_is_the_jackknife_one() -> None:
    t, h = _heavy(11, 300, 0.2), _heavy(12, 200, 0.15)
    # brute force: leave each customer out in turn, as scipy.stats.bootstrap does
    terms = []
    for x, sign in ((t, 1), (h, -1)):
        n = len(x)
        loo = (x.sum() - x) / (n - 1)
        u = (n - 1) * (loo.mean() - loo) * sign
        terms.append(((u**3).sum() / n**3, (u**2).sum() / n**2))
    expected = sum(a for a, _ in terms) / (6 * sum(b for _, b in terms) ** 1.5)
    assert _acceleration(t[t != 0], len(t), h[h != 0], len(h)) == pytest.approx(expected, rel=1e-9)


def test_the_studentized_bootstrap_matches_a_brute_force_one() -> None:
    t, h = _heavy(17, 1200, 0.08), _heavy(18, 500, 0.06)
    ours = bootstrap_mean_difference(t[t != 0], len(t), h[h != 0], len(h), resamples=20_000,
                                     seed=1, method="studentized")
    # reference: resample the full arrays, zeros and all (Efron & Tibshirani 1993, §12.5)
    rng = np.random.default_rng(2)
    bt = rng.choice(t, size=(8000, len(t)))
    bh = rng.choice(h, size=(8000, len(h)))
    d = t.mean() - h.mean()
    se = math.sqrt(t.var(ddof=1) / len(t) + h.var(ddof=1) / len(h))
    tstar = (bt.mean(1) - bh.mean(1) - d) / np.sqrt(bt.var(1, ddof=1) / len(t)
                                                     + bh.var(1, ddof=1) / len(h))
    lo, hi = d - np.percentile(tstar, 97.5) * se, d - np.percentile(tstar, 2.5) * se
    width = hi - lo
    assert ours.low == pytest.approx(lo, abs=0.03 * width)
    assert ours.high == pytest.approx(hi, abs=0.03 * width)
    # the small holdout's right skew makes the difference skewed left: the interval reaches
    # further down than Welch's symmetric one, and less far up
    w = welch(_moments(t), _moments(h))
    assert d - ours.low > d - w.low and ours.high - d < w.high - d  # type: ignore[operator]


@pytest.mark.parametrize("method", ["bca", "percentile"])
def test_the_bootstrap_matches_scipy(method: str) -> None:
    t, h = _heavy(13, 1500, 0.08), _heavy(14, 600, 0.06)
    ours = bootstrap_mean_difference(t[t != 0], len(t), h[h != 0], len(h), resamples=20_000,
                                     seed=1, method=method)  # type: ignore[arg-type]
    ref = stats.bootstrap((t, h), lambda a, b, axis: a.mean(axis) - b.mean(axis),
                          n_resamples=20_000, method=method, rng=np.random.default_rng(2),
                          vectorized=True).confidence_interval
    assert ours.estimate == pytest.approx(t.mean() - h.mean(), rel=1e-12)
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.03 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.03 * width)


def test_the_bootstrap_is_seeded() -> None:
    t, h = _heavy(15, 500, 0.1), _heavy(16, 300, 0.1)
    args = (t[t != 0], len(t), h[h != 0], len(h))
    a = bootstrap_mean_difference(*args, resamples=500, seed=3)
    assert a == bootstrap_mean_difference(*args, resamples=500, seed=3)
    assert a != bootstrap_mean_difference(*args, resamples=500, seed=4)
