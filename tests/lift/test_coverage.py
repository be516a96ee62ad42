"""Do the 95 % intervals cover the truth 95 % of the time, and does an A/A test cry wolf 5 % of
the time? Simulated stores with a known injected lift (seeded, so the rates below are fixed
numbers, not luck of the day): each interval must cover the true lift in 93–97 % of them, and
replicates with no effect must give p < 0.05 in 3–7 % (issue 12, "Honest numbers").

2,000 stores of 20,000 treated and 5,000 held out per analytic check, so the binomial noise of
the rate itself (±0.5 %) is well inside the band; 400 for the bootstrap, which resamples.
docs/campaigns.md lists the rates these seeds give, and what smaller holdouts do. Every store
is numpy: a customer converts with the group's rate, and one who converts spends a log-normal
amount per order (a heavy tail) on 1 + Poisson(0.3) orders.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from segmentry.analytics.lift import (
    Estimate,
    GroupCounts,
    GroupMoments,
    GroupRatio,
    aov_difference,
    bootstrap_mean_difference,
    mean_lift,
    proportion_lift,
)

STORES = 2000
TREATED, HOLDOUT = 20_000, 5_000  # a 20 % holdout; ~250 held-out customers order
BASE_RATE, LIFT = 0.05, 0.015  # conversion 5 % → 6.5 %
MU, SIGMA = 8.3, 1.0  # log-normal spend per converting customer (mean ≈ 6,700)
MEAN_SPEND = math.exp(MU + SIGMA**2 / 2)
EXTRA_ORDERS = 0.3


@dataclass(frozen=True)
class Group:
    """One simulated group: per-customer revenue and orders."""

    revenue: np.ndarray
    orders: np.ndarray

    @property
    def counts(self) -> GroupCounts:
        return GroupCounts(len(self.orders), int((self.orders > 0).sum()))

    def moments(self, values: np.ndarray) -> GroupMoments:
        # NOTE: sums, not ``@``: a BLAS dot contends for the cores on a busy machine (15 ms)
        return GroupMoments(len(values), float(values.sum()), float((values * values).sum()))

    @property
    def ratio(self) -> GroupRatio:
        r, o = self.revenue, self.orders
        return GroupRatio(len(r), float(r.sum()), float(o.sum()), float((r * r).sum()),
                          float((o * o).sum()), float((r * o).sum()))


def simulate(rng: np.random.Generator, n: int, rate: float) -> Group:
    bought = np.flatnonzero(rng.random(n) < rate)
    orders, revenue = np.zeros(n), np.zeros(n)
    orders[bought] = 1 + rng.poisson(EXTRA_ORDERS, len(bought))
    # spend per order, so AOV is the same in both groups (the true AOV difference is 0)
    revenue[bought] = rng.lognormal(MU, SIGMA, len(bought)) * orders[bought]
    return Group(revenue, orders)


def _stores(seed: int, treated_rate: float, count: int = STORES) -> list[tuple[Group, Group]]:
    rng = np.random.default_rng(seed)
    return [(simulate(rng, TREATED, treated_rate), simulate(rng, HOLDOUT, BASE_RATE))
            for _ in range(count)]


@pytest.fixture(scope="module")
def lifted() -> list[tuple[Group, Group]]:
    return _stores(20261206, BASE_RATE + LIFT)


@pytest.fixture(scope="module")
def null() -> list[tuple[Group, Group]]:
    return _stores(19981998, BASE_RATE)


def _coverage(estimates: list[Estimate], truth: float) -> float:
    inside = [e.low is not None and e.high is not None and e.low <= truth <= e.high
              for e in estimates]
    return sum(inside) / len(inside)


def _false_alarms(estimates: list[Estimate]) -> float:
    return sum(e.p_value is not None and e.p_value < 0.05 for e in estimates) / len(estimates)


def test_conversion_difference_covers_the_true_lift(lifted: list[tuple[Group, Group]]) -> None:
    cov = _coverage([proportion_lift(t.counts, h.counts).difference for t, h in lifted], LIFT)
    assert 0.93 <= cov <= 0.97, cov


def test_relative_conversion_lift_covers_the_true_ratio(lifted: list[tuple[Group, Group]]) -> None:
    cov = _coverage([proportion_lift(t.counts, h.counts).relative for t, h in lifted],
                    (BASE_RATE + LIFT) / BASE_RATE - 1)
    assert 0.93 <= cov <= 0.97, cov


def test_revenue_per_customer_covers_the_true_difference(lifted: list[tuple[Group, Group]]) -> None:
    truth = LIFT * MEAN_SPEND * (1 + EXTRA_ORDERS)
    lifts = [mean_lift(t.moments(t.revenue), h.moments(h.revenue)) for t, h in lifted]
    assert 0.93 <= _coverage([x.difference for x in lifts], truth) <= 0.97
    relative = _coverage([x.relative for x in lifts], (BASE_RATE + LIFT) / BASE_RATE - 1)
    assert 0.93 <= relative <= 0.97, relative


def test_orders_per_customer_covers_the_true_difference(lifted: list[tuple[Group, Group]]) -> None:
    truth = LIFT * (1 + EXTRA_ORDERS)
    cov = _coverage([mean_lift(t.moments(t.orders), h.moments(h.orders)).difference
                     for t, h in lifted], truth)
    assert 0.93 <= cov <= 0.97, cov


def test_aov_difference_covers_zero_when_only_conversion_moved(
    lifted: list[tuple[Group, Group]],
) -> None:
    cov = _coverage([aov_difference(t.ratio, h.ratio).difference for t, h in lifted], 0.0)
    assert 0.93 <= cov <= 0.97, cov


def test_a_a_replicates_give_p_below_005_about_5_percent(null: list[tuple[Group, Group]]) -> None:
    conversion = _false_alarms([proportion_lift(t.counts, h.counts).difference for t, h in null])
    revenue = _false_alarms([mean_lift(t.moments(t.revenue), h.moments(h.revenue)).difference
                             for t, h in null])
    orders = _false_alarms([mean_lift(t.moments(t.orders), h.moments(h.orders)).difference
                            for t, h in null])
    assert 0.03 <= conversion <= 0.07, conversion
    assert 0.03 <= revenue <= 0.07, revenue
    assert 0.03 <= orders <= 0.07, orders
    # and the verdict, read off the interval, rarely claims an effect that is not there
    wrong = sum(proportion_lift(t.counts, h.counts).difference.verdict != "too_small_to_tell"
                for t, h in null) / len(null)
    assert 0.03 <= wrong <= 0.07, wrong


def test_the_bootstrap_covers_the_true_revenue_difference(
    lifted: list[tuple[Group, Group]],
) -> None:
    """The default (studentized) bootstrap over the first 400 stores, 400 resamples each.

    NOTE: measured once with smaller groups (8,000 treated, 2,000 held out: about 100 held-out
    customers ordering), every bootstrap ran narrow there — studentized 92.2 %, percentile
    93.0 %, BCa 91.4 % over 2,000 stores, against Welch's 93.5 % (an ordinary bootstrap of
    the full arrays agreed with ours) — so the verdict reads Welch, and the bootstrap is a
    cross-check (docs/campaigns.md)."""
    truth = LIFT * MEAN_SPEND * (1 + EXTRA_ORDERS)
    boot, welch = [], []
    for i, (t, h) in enumerate(lifted[:400]):
        boot.append(bootstrap_mean_difference(
            t.revenue[t.revenue != 0], len(t.revenue), h.revenue[h.revenue != 0],
            len(h.revenue), resamples=400, seed=i))
        welch.append(mean_lift(t.moments(t.revenue), h.moments(h.revenue)).difference)
    assert 0.93 <= _coverage(boot, truth) <= 0.97, (_coverage(boot, truth),
                                                    _coverage(welch, truth))
