"""What each recipient of a campaign did in their attribution window, treated against holdout.

The input is any table expression of recipients ``(customer_id, group, start)`` — ``group`` is
``treated`` or ``holdout``, ``start`` the UTC timestamp their window opens (the send, or the
step, for a treated customer; the moment they would have been sent for a held-out one), and
optionally ``shop_id`` — with one row per customer. How campaigns store their recipients is not
this module's business.

Per customer, over ``[start, start + window_days)``:

- **converted**: placed at least one order;
- **revenue**: the sum of those orders' ``amount`` as in docs/metrics.md — ``total − refunded``
  with ``[metrics] subtract_refunds = true`` (the default), else ``total``; read from
  ``order_facts``, so the setting the facts were built with applies. An order cancelled by
  the time of measuring does not count (its revenue never came);
- **orders**: how many there were.

Everything is aggregated in the warehouse (one Ibis expression, DuckDB and PostgreSQL alike):
a million recipients come back as two rows of sufficient statistics (n, Σ, Σ² and Σxy for
the AOV), plus, for the bootstrap only, the revenue of the customers who ordered (the others
contributed 0), plus the cumulative revenue per customer by day since start for the chart.
:func:`measure` turns them into :class:`CampaignLift` with :mod:`segmentry.analytics.lift`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
from ibis.backends import BaseBackend

from segmentry.analytics.lift import (
    Estimate,
    GroupCounts,
    GroupMoments,
    GroupRatio,
    Lift,
    aov_difference,
    bootstrap_mean_difference,
    incremental,
    mean_lift,
    proportion_lift,
)
from segmentry.engine import Scratch

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "GROUPS",
    "HOLDOUT",
    "TREATED",
    "CampaignLift",
    "DailyRevenue",
    "GroupOutcome",
    "Groups",
    "campaign_orders",
    "converted_revenue",
    "cumulative_revenue",
    "customer_outcomes",
    "groups_of",
    "measure",
    "outcome_totals",
    "recipients_table",
    "window_orders",
]

TREATED, HOLDOUT = "treated", "holdout"
GROUPS = (TREATED, HOLDOUT)
DEFAULT_WINDOW_DAYS = 7
_DAY_SECONDS = 86_400


@dataclass(frozen=True)
class GroupOutcome:
    """A group's sufficient statistics over the window: recipients, converted customers,
    Σ revenue, Σ revenue², Σ orders, Σ orders², Σ revenue × orders (per customer)."""

    customers: int
    converted: int
    revenue: float
    revenue_squares: float
    orders: int
    orders_squares: float
    revenue_orders: float

    @property
    def counts(self) -> GroupCounts:
        return GroupCounts(self.customers, self.converted)

    @property
    def revenue_moments(self) -> GroupMoments:
        return GroupMoments(self.customers, self.revenue, self.revenue_squares)

    @property
    def order_moments(self) -> GroupMoments:
        return GroupMoments(self.customers, float(self.orders), self.orders_squares)

    @property
    def order_value(self) -> GroupRatio:
        return GroupRatio(self.customers, self.revenue, float(self.orders),
                          self.revenue_squares, self.orders_squares, self.revenue_orders)


@dataclass(frozen=True)
class DailyRevenue:
    """Revenue per customer by the end of ``day`` days since start (1 = the first 24 hours),
    in each group: the chart's two lines."""

    day: int
    treated: float
    holdout: float


@dataclass(frozen=True)
class CampaignLift:
    """Everything measured of a campaign (or one step of it): the groups' figures, the lift
    on each measure, incremental revenue (Welch, and bootstrap when asked for) and the
    cumulative revenue per customer by day."""

    window_days: int
    treated: GroupOutcome
    holdout: GroupOutcome
    conversion: Lift
    revenue_per_customer: Lift
    orders_per_customer: Lift
    aov: Lift
    incremental_revenue: Estimate
    revenue_bootstrap: Estimate | None
    incremental_revenue_bootstrap: Estimate | None
    cumulative: tuple[DailyRevenue, ...]


def campaign_orders(con: BaseBackend) -> ir.Table:
    """The orders that count: ``order_facts`` rows never cancelled, with their ``amount``
    (refunds treated as the facts were built, docs/metrics.md)."""
    o = con.table("order_facts")
    return o.filter(o.cancelled_on.isnull()).select("shop_id", "customer_id", "processed_at",
                                                     "amount")


def _keys(table: ir.Table) -> list[str]:
    return ["shop_id", "customer_id"] if "shop_id" in table.columns else ["customer_id"]


@dataclass(frozen=True)
class Groups:
    """The recipients' group sizes and the span of their starts (to read only the orders
    that can fall in a window)."""

    sizes: dict[str, int]
    first_start: dt.datetime | None
    last_start: dt.datetime | None


def groups_of(con: BaseBackend, recipients: ir.Table) -> Groups:
    """Count the recipients of each group (one small query); refuse unknown groups."""
    counted = recipients.group_by("group").aggregate(
        customers=recipients.count(), first=recipients.start.min(), last=recipients.start.max())
    rows = con.to_pyarrow(counted).to_pylist()
    unknown = sorted({str(r["group"]) for r in rows} - set(GROUPS))
    if unknown:
        raise ValueError(f"recipients' group must be {' or '.join(GROUPS)}, got {unknown}")
    firsts = [r["first"] for r in rows if r["first"] is not None]
    lasts = [r["last"] for r in rows if r["last"] is not None]
    return Groups({r["group"]: int(r["customers"]) for r in rows},
                  min(firsts, default=None), max(lasts, default=None))


def window_orders(recipients: ir.Table, orders: ir.Table,
                  window_days: int = DEFAULT_WINDOW_DAYS, groups: Groups | None = None) -> ir.Table:
    """Each recipient's orders inside their window: the recipient's keys, ``group``,
    ``amount`` (float) and ``day`` (0 for the first 24 hours since start, …).

    With ``groups``, only orders between the first start and the last window's end are
    joined (a constant range the engine prunes by), not the whole history."""
    if window_days < 1:
        raise ValueError(f"the attribution window must be at least 1 day, got {window_days}")
    keys = _keys(recipients)
    r = recipients.select(*keys, group=recipients.group, start=recipients.start)
    o = orders.select(*keys, "processed_at", "amount")
    if groups is not None and groups.first_start is not None and groups.last_start is not None:
        until = groups.last_start + dt.timedelta(days=window_days)
        o = o.filter((o.processed_at >= ibis.literal(groups.first_start, "timestamp"))
                     & (o.processed_at < ibis.literal(until, "timestamp")))
    j = r.join(o, keys)
    # NOTE: seconds since start rather than interval arithmetic: one expression both engines
    # compile the same way, and the day index for the chart comes from it too.
    seconds = j.processed_at.epoch_seconds() - j.start.epoch_seconds()
    j = j.filter((seconds >= 0) & (seconds < window_days * _DAY_SECONDS))
    return j.select(*keys, "group", amount=j.amount.cast("float64"),
                    day=(seconds // _DAY_SECONDS).cast("int64"))


def customer_outcomes(window: ir.Table) -> ir.Table:
    """Per recipient who ordered in the window (``window``: :func:`window_orders`): keys,
    ``group``, ``revenue``, ``orders``. Recipients absent from it converted nothing."""
    return window.group_by([*_keys(window), "group"]).aggregate(revenue=window.amount.sum(),
                                                                orders=window.count())


def outcome_totals(con: BaseBackend, window: ir.Table,
                   sizes: dict[str, int]) -> dict[str, GroupOutcome]:
    """Each group's :class:`GroupOutcome`, aggregated in the warehouse (one query over the
    window's orders; ``sizes`` from :func:`groups_of`)."""
    per = customer_outcomes(window)
    sums = per.group_by("group").aggregate(
        converted=per.count(),
        revenue=per.revenue.sum(),
        revenue_squares=(per.revenue * per.revenue).sum(),
        orders=per.orders.sum(),
        orders_squares=(per.orders.cast("float64") * per.orders).sum(),
        revenue_orders=(per.revenue * per.orders).sum(),
    )
    summed = {r["group"]: r for r in con.to_pyarrow(sums).to_pylist()}
    out = {}
    for g in GROUPS:
        n, row = sizes.get(g, 0), summed.get(g)
        out[g] = GroupOutcome(n, 0, 0.0, 0.0, 0, 0.0, 0.0) if row is None else GroupOutcome(
            n, int(row["converted"]), float(row["revenue"]), float(row["revenue_squares"]),
            int(row["orders"]), float(row["orders_squares"]), float(row["revenue_orders"]))
    return out


def converted_revenue(con: BaseBackend, window: ir.Table) -> dict[str, np.ndarray]:
    """The revenue of each customer who ordered in the window, by group (what the bootstrap
    resamples besides the zeros): a few percent of the recipients, as one float column."""
    table = con.to_pyarrow(customer_outcomes(window).select("group", "revenue"))
    groups = np.asarray(table.column("group").to_numpy(zero_copy_only=False))
    revenue = table.column("revenue").to_numpy().astype(np.float64)
    return {g: revenue[groups == g] for g in GROUPS}


def cumulative_revenue(con: BaseBackend, window: ir.Table, sizes: dict[str, int],
                       window_days: int = DEFAULT_WINDOW_DAYS) -> tuple[DailyRevenue, ...]:
    """Revenue per customer by the end of each day since start, treated and holdout."""
    daily = window.group_by(["group", "day"]).aggregate(revenue=window.amount.sum())
    by_day = {g: np.zeros(window_days) for g in GROUPS}
    for r in con.to_pyarrow(daily).to_pylist():
        if r["group"] in by_day:
            by_day[r["group"]][int(r["day"])] += float(r["revenue"])
    per = {g: np.cumsum(by_day[g]) / sizes[g] if sizes.get(g) else np.full(window_days, math.nan)
           for g in GROUPS}
    return tuple(DailyRevenue(d + 1, float(per[TREATED][d]), float(per[HOLDOUT][d]))
                 for d in range(window_days))


def measure(con: BaseBackend, recipients: ir.Table, *, orders: ir.Table | None = None,
            window_days: int = DEFAULT_WINDOW_DAYS, bootstrap: bool = False,
            resamples: int = 1000, seed: int = 0) -> CampaignLift:
    """Measure a campaign: outcomes in the warehouse, then every statistic.

    ``orders`` defaults to :func:`campaign_orders`; ``bootstrap`` adds a seeded studentized
    bootstrap interval for revenue per customer (and incremental revenue) beside Welch's.
    The recipients' orders in their windows are joined once, into a scratch table that the
    few aggregates read.
    """
    o = campaign_orders(con) if orders is None else orders
    groups = groups_of(con, recipients)
    with Scratch(con) as scratch:
        window = con.table(scratch.keep(window_orders(recipients, o, window_days, groups),
                                        "_campaign_window"))
        totals = outcome_totals(con, window, groups.sizes)
        t, h = totals[TREATED], totals[HOLDOUT]
        values = converted_revenue(con, window) if bootstrap else None
        cumulative = cumulative_revenue(con, window, groups.sizes, window_days)
    revenue = mean_lift(t.revenue_moments, h.revenue_moments)
    boot = boot_inc = None
    if values is not None:
        boot = bootstrap_mean_difference(values[TREATED], t.customers, values[HOLDOUT],
                                         h.customers, resamples=resamples, seed=seed)
        boot_inc = incremental(boot, t.customers)
    return CampaignLift(
        window_days=window_days, treated=t, holdout=h,
        conversion=proportion_lift(t.counts, h.counts),
        revenue_per_customer=revenue,
        orders_per_customer=mean_lift(t.order_moments, h.order_moments),
        aov=aov_difference(t.order_value, h.order_value),
        incremental_revenue=incremental(revenue.difference, t.customers),
        revenue_bootstrap=boot, incremental_revenue_bootstrap=boot_inc,
        cumulative=cumulative,
    )


def recipients_table(rows: Sequence[tuple[str, str, object]]) -> ir.Table:
    """An in-memory recipients table from ``(customer_id, group, start)`` rows (tests, demos).

    >>> recipients_table([("c1", "treated", None)]).columns
    ('customer_id', 'group', 'start')
    """
    return ibis.memtable(
        {"customer_id": [r[0] for r in rows], "group": [r[1] for r in rows],
         "start": [r[2] for r in rows]},
        schema={"customer_id": "string", "group": "string", "start": "timestamp"},
    )
