"""As-of building blocks: what was known about each customer at the end of a day.

A *point* is a ``(customer_id, day)`` pair (or one day for every customer). For each point,
:func:`customers_as_of` says whether the customer existed yet, :func:`orders_as_of` gives the
orders valid at the end of that day, :func:`customer_stats` the customer's order statistics
from them and :func:`tags_as_of` the tags last recorded by then.
The compiler, the day snapshots, the metrics and the journeys all read through these, so they
agree on what "as of a day" means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.facts import refund_table, settled_on, undated_table

__all__ = [
    "PREDICTIONS",
    "PREDICTION_COLUMNS",
    "Facts",
    "Points",
    "abandoned_as_of",
    "checkouts_table",
    "customer_stats",
    "customers_as_of",
    "customers_since",
    "events_table",
    "line_events_table",
    "lines_as_of",
    "orders_as_of",
    "predictions_as_of",
    "predictions_table",
    "statistics_as_of",
    "statistics_table",
    "store_credit_tables",
    "tags_as_of",
]


@dataclass(frozen=True)
class Facts:
    """The fact tables a condition reads (see :mod:`segmentry.analytics.facts`).

    ``settled``: the last day any order was processed, cancelled or refunded
    (``facts_state``); as of that day or later the valid orders are simply the never-cancelled
    ones. ``undated``: the customers without a creation date and the day each counts from
    (``undated_customers``), None when every customer has a creation date. ``refunds``: the
    dated refunds (``refund_facts``), None when refunds are not subtracted or none has a date.
    ``events``: the ledger's ``customer_events`` (see :mod:`segmentry.analytics.events`), None
    in a ledger without it; ``line_events`` likewise (see :mod:`segmentry.analytics.line`).
    ``checkouts``: the ledger's ``abandoned_checkouts``, None in a ledger without it.
    ``statistics``: the ledger's ``customer_statistics_history`` (Shopify's own RFM group and
    spend tier as synced), None in a ledger without it. ``credit_accounts`` and
    ``credit_transactions``: the ledger's ``store_credit_accounts`` and
    ``store_credit_transactions`` (see :mod:`segmentry.analytics.store_credit`), None in a
    ledger without them. ``predictions``: the predictive models' ``customer_predictions`` (one
    row per fit date and customer, see :mod:`segmentry.analytics.predictive.warehouse`), None
    before the first fit.
    """

    orders: ir.Table
    lines: ir.Table
    customers: ir.Table
    tag_history: ir.Table
    settled: dt.date | None = None
    undated: ir.Table | None = None
    events: ir.Table | None = None
    refunds: ir.Table | None = None
    line_events: ir.Table | None = None
    checkouts: ir.Table | None = None
    statistics: ir.Table | None = None
    credit_accounts: ir.Table | None = None
    credit_transactions: ir.Table | None = None
    predictions: ir.Table | None = None

    @classmethod
    def of(cls, con: BaseBackend) -> Facts:
        accounts, transactions = store_credit_tables(con)
        return cls(
            orders=con.table("order_facts"),
            lines=con.table("line_facts"),
            customers=con.table("customers"),
            tag_history=con.table("customer_tag_history"),
            settled=settled_on(con),
            undated=undated_table(con),
            events=events_table(con),
            refunds=refund_table(con),
            line_events=line_events_table(con),
            checkouts=checkouts_table(con),
            statistics=statistics_table(con),
            credit_accounts=accounts,
            credit_transactions=transactions,
            predictions=predictions_table(con),
        )

    def is_settled(self, day: dt.date) -> bool:
        """Whether every order event happened by ``day`` (the final facts hold as of it)."""
        return self.settled is not None and day >= self.settled


def events_table(con: BaseBackend) -> ir.Table | None:
    """The ledger's ``customer_events``, or None in a ledger made before it existed (opening
    the workspace adds it, see :func:`segmentry.ledger.store.ensure_ledger`)."""
    if "customer_events" not in con.list_tables():
        return None
    return con.table("customer_events")


def line_events_table(con: BaseBackend) -> ir.Table | None:
    """The ledger's ``line_events``, or None in a ledger made before it existed (opening the
    workspace adds it, see :func:`segmentry.ledger.store.ensure_ledger`)."""
    if "line_events" not in con.list_tables():
        return None
    return con.table("line_events")


def checkouts_table(con: BaseBackend) -> ir.Table | None:
    """The ledger's ``abandoned_checkouts`` (customers' only), or None in a ledger made before
    it existed."""
    if "abandoned_checkouts" not in con.list_tables():
        return None
    t = con.table("abandoned_checkouts")
    return t.filter(t.customer_id.notnull())


def statistics_table(con: BaseBackend) -> ir.Table | None:
    """The ledger's ``customer_statistics_history``, or None in a ledger made before it."""
    if "customer_statistics_history" not in con.list_tables():
        return None
    return con.table("customer_statistics_history")


def store_credit_tables(con: BaseBackend) -> tuple[ir.Table | None, ir.Table | None]:
    """The ledger's ``store_credit_accounts`` and ``store_credit_transactions``, or None for
    each in a ledger made before they existed."""
    have = set(con.list_tables())
    return tuple(  # type: ignore[return-value]
        con.table(name) if name in have else None
        for name in ("store_credit_accounts", "store_credit_transactions")
    )
# The predictive models' per-customer predictions, one row per fit date and customer.
PREDICTIONS = "customer_predictions"


def predictions_table(con: BaseBackend) -> ir.Table | None:
    """The models' ``customer_predictions``, or None before the first fit."""
    if PREDICTIONS not in con.list_tables():
        return None
    return con.table(PREDICTIONS)


@dataclass(frozen=True)
class Points:
    """Where to evaluate: a ``(customer_id, day)`` table, or one ``day`` for everyone."""

    table: ir.Table | None = None
    day: dt.date | None = None

    @classmethod
    def of(cls, points: ir.Table | dt.date | Points) -> Points:
        if isinstance(points, Points):
            return points
        if isinstance(points, dt.date):
            return cls(day=points)
        return cls(table=points.select("customer_id", "day"))

    @property
    def source(self) -> ir.Table | dt.date:
        """What :func:`orders_as_of` and :func:`tags_as_of` take."""
        if self.day is not None:
            return self.day
        assert self.table is not None
        return self.table

    @property
    def keys(self) -> list[str]:
        """Join keys of per-point tables (the day is a constant for a single day)."""
        return ["customer_id"] if self.day is not None else ["customer_id", "day"]


def customers_as_of(facts: Facts, customers: ir.Table, points: Points) -> ir.Table:
    """The rows of ``customers`` (columns of ``facts.customers``, ``customer_id`` and
    ``created_on`` among them) that exist at the end of each point's day, with the ``day``.

    A customer exists from ``created_on``; one without a creation date from the day in
    ``facts.undated``: their first order's, or with no orders the store's first day
    (docs/metrics.md, "Who counts").
    """
    if points.day is not None:
        d = ibis.date(points.day)
        if facts.undated is None:
            return customers.filter(customers.created_on <= d).mutate(day=d)
        if facts.is_settled(points.day):
            # NOTE: every first order and the store's first day are on or before the last
            # event day, so on a settled day each undated customer exists: no join needed.
            undated = customers.created_on.isnull()
            return customers.filter(undated | (customers.created_on <= d)).mutate(day=d)
        known = _with_since(customers, facts.undated)
        return known.filter(known._since <= d).drop("_since").mutate(day=d)
    assert points.table is not None
    if facts.undated is None:
        frame = points.table.join(customers, "customer_id")
        return frame.filter(frame.created_on <= frame.day)
    frame = points.table.join(_with_since(customers, facts.undated), "customer_id")
    return frame.filter(frame._since <= frame.day).drop("_since")


def customers_since(facts: Facts) -> ir.Table:
    """``(customer_id, since_on)``: the day each customer exists from (:func:`customers_as_of`).

    ``since_on`` is NULL only for a customer without a creation date imported after the last
    facts build: such a customer counts from the next build on.
    """
    c = facts.customers.select("customer_id", "created_on")
    if facts.undated is None:
        return c.select("customer_id", since_on=c.created_on)
    known = _with_since(c, facts.undated)
    return known.select("customer_id", since_on=known._since)


def _with_since(customers: ir.Table, undated: ir.Table) -> ir.Table:
    """``customers`` with ``_since``: ``created_on``, else the undated customer's day."""
    u = undated.select(u_customer_id="customer_id", u_counts_from="counts_from")
    j = customers.left_join(u, customers.customer_id == u.u_customer_id)
    return j.select(*customers.columns, _since=ibis.coalesce(j.created_on, j.u_counts_from))


def orders_as_of(
    orders: ir.Table,
    points: ir.Table | dt.date,
    *,
    positions: bool = True,
    settled: dt.date | None = None,
    refunds: ir.Table | None = None,
) -> ir.Table:
    """Each point's orders valid at the end of its day, with their as-of positions and
    amounts.

    An order counts from its ``processed_on`` day until the day before it is cancelled;
    ``seq`` (1 = first order) is its position among those orders (computed only with
    ``positions``: a window over all orders is not free). Its ``amount`` counts only the
    refunds made by the day: those in ``refunds`` (``refund_facts``) made later are added
    back. On a single day on or after ``settled`` (see :class:`Facts`) the valid orders are
    the never-cancelled ones, with their final positions and amounts, so no window is needed.
    """
    where = Points.of(points)
    if where.day is not None and settled is not None and where.day >= settled:
        return orders.filter(orders.seq.notnull()).mutate(day=ibis.date(where.day))
    if where.day is not None:
        d = ibis.date(where.day)
        j = orders.filter(
            (orders.processed_on <= d) & (orders.cancelled_on.isnull() | (orders.cancelled_on > d))
        ).mutate(day=d)
    else:
        assert where.table is not None
        p, o = where.table, orders.rename(o_customer_id="customer_id")
        j = p.join(
            o,
            [
                p.customer_id == o.o_customer_id,
                o.processed_on <= p.day,
                o.cancelled_on.isnull() | (o.cancelled_on > p.day),
            ],
        ).drop("o_customer_id")
    if "seq" in j.columns:  # NOTE: order_facts.seq is final knowledge, not as of the day
        j = j.drop("seq")
    if refunds is not None and "amount" in j.columns:
        j = _refunded_by_day(j, refunds, where)
    if not positions:
        return j
    group = [j[k] for k in where.keys]
    first = ibis.row_number().over(group_by=group, order_by=[j.processed_at, j.order_id])
    return j.mutate(seq=first + 1)


def _refunded_by_day(orders: ir.Table, refunds: ir.Table, where: Points) -> ir.Table:
    """``orders`` (as-of rows) with the refunds made after each point's day added back to
    ``amount``: as of a day, an order is worth its total less the refunds made by then.

    Only refunds later than a point's day are read (few: refunds are rare and most are old),
    so the daily run on an unsettled day and a history's points cost one small join.
    """
    keys = ["shop_id", "order_id"] if where.day is not None else ["day", "shop_id", "order_id"]
    if where.day is not None:
        later = refunds.filter(refunds.refunded_on > ibis.date(where.day))
        back = later.group_by(keys).aggregate(_back=later.amount.sum())
    else:
        assert where.table is not None
        p = where.table
        r = refunds.select(r_customer_id="customer_id", shop_id="shop_id", order_id="order_id",
                           refunded_on="refunded_on", amount="amount")
        later = p.join(r, [p.customer_id == r.r_customer_id, r.refunded_on > p.day])
        back = later.group_by(keys).aggregate(_back=later.amount.sum())
    j = orders.left_join(back, keys)
    j = j.drop(*(c for c in j.columns if c.endswith("_right")))
    amount = (j.amount + j._back.fill_null(0)).cast(orders.amount.type())
    return j.mutate(amount=amount).drop("_back")


def customer_stats(orders: ir.Table, columns: Collection[str] | None = None) -> ir.Table:
    """Per point, the customer's order statistics from :func:`orders_as_of` rows.

    The first order's fields are read from the order at position 1 when the rows carry
    positions, else picked with arg-min (no window needed); the last order's with arg-max.
    ``second_day`` needs the positions and is left out without them.
    """
    # NOTE: arg-min / arg-max are keyed on the processing time alone (building a tie-breaking
    # key per order costs more than the whole aggregate); two orders of one customer in the
    # same microsecond would make that pick engine-dependent. Positions break ties by order id.
    key = orders.processed_at
    stats = {
        "n_orders": orders.count(),
        "spent": orders.amount.sum(),
        "first_day": orders.processed_on.min(),
        "last_day": orders.processed_on.max(),
        "is_subscriber": orders.is_subscription.any(),
        "last_channel": orders.channel.argmax(key),
    }
    firsts = {f"first_{c}": orders[c] for c in _FIRST_ORDER_FIELDS}
    positions = "seq" in orders.columns
    if positions:
        stats["second_day"] = orders.processed_on.min(where=orders.seq == 2)
    else:
        stats |= {name: value.argmin(key) for name, value in firsts.items()}
    if columns is not None:  # only what the conditions read: unused aggregates are not free
        stats = {k: v for k, v in stats.items() if k in columns}
        firsts = {k: v for k, v in firsts.items() if k in columns}
    keys = ["customer_id", "day"]
    if not positions or not firsts:
        return orders.group_by(keys).aggregate(**stats)
    first = orders.filter(orders.seq == 1).select(*keys, **firsts)
    if not stats:
        return first
    joined = orders.group_by(keys).aggregate(**stats).left_join(first, keys)
    return joined.select(*keys, *stats, *firsts)


_FIRST_ORDER_FIELDS = ("channel", "utm_source", "utm_medium", "utm_campaign", "source_name")


def _latest_on_or_before(history: ir.Table, points: ir.Table | dt.date, *, on: str,
                         newest: str, columns: tuple[str, ...]) -> ir.Table:
    """Per point, the row of ``history`` (one customer's observations) with the greatest
    ``newest`` among those whose day ``on`` is on or before the point's day, with ``columns``
    (points with none are left out)."""
    where = Points.of(points)
    if where.day is not None:
        d = ibis.date(where.day)
        j = history.filter(history[on] <= d).mutate(day=d)
    else:
        assert where.table is not None
        p = where.table
        h = history.select(*dict.fromkeys((on, newest, *columns)), h_customer_id="customer_id")
        j = p.join(h, [p.customer_id == h.h_customer_id, h[on] <= p.day])
    group = [j[k] for k in where.keys]
    rank = ibis.row_number().over(group_by=group, order_by=ibis.desc(j[newest]))
    return j.mutate(rank=rank).filter(lambda t: t.rank == 0)


def tags_as_of(history: ir.Table, points: ir.Table | dt.date) -> ir.Table:
    """Per point, the customer's tags as last recorded on or before its day."""
    j = _latest_on_or_before(history, points, on="seen_on", newest="seen_at", columns=("tags",))
    return j.select("customer_id", "day", tags_as_of=j.tags)


def statistics_as_of(history: ir.Table, points: ir.Table | dt.date) -> ir.Table:
    """Per point, Shopify's statistics as last observed on or before its day: ``rfm_as_of``
    and ``tier_as_of`` (points before the customer's first observation are left out)."""
    j = _latest_on_or_before(history, points, on="seen_on", newest="seen_at",
                             columns=("rfm_group", "predicted_spend_tier"))
    return j.select("customer_id", "day", rfm_as_of=j.rfm_group,
                    tier_as_of=j.predicted_spend_tier)


PREDICTION_COLUMNS = ("predicted_clv", "churn_probability", "expected_orders_90d",
                      "predicted_next_order_date")


def predictions_as_of(predictions: ir.Table, points: ir.Table | dt.date) -> ir.Table:
    """Per point, the customer's predictions from the latest fit on or before its day (points
    before the first fit, or of customers that fit did not score, are left out)."""
    j = _latest_on_or_before(predictions, points, on="fit_date", newest="fit_date",
                             columns=PREDICTION_COLUMNS)
    return j.select("customer_id", "day", *PREDICTION_COLUMNS)


def abandoned_as_of(checkouts: ir.Table, points: ir.Table | dt.date) -> ir.Table:
    """Per point, ``abandoned_on``: the day of the customer's latest checkout created on or
    before the point's day and not completed by then (Shopify's ``abandoned_checkout_date``:
    "the date they last abandoned a checkout"). Points without one are left out.

    A checkout completed on a day is no longer abandoned as of that day.
    """
    where = Points.of(points)
    if where.day is not None:
        d = ibis.date(where.day)
        j = checkouts.filter(
            (checkouts.created_on <= d)
            & (checkouts.completed_on.isnull() | (checkouts.completed_on > d))
        ).mutate(day=d)
    else:
        assert where.table is not None
        p = where.table
        c = checkouts.select(c_customer_id="customer_id", created_on="created_on",
                             completed_on="completed_on")
        j = p.join(c, [p.customer_id == c.c_customer_id, c.created_on <= p.day,
                       c.completed_on.isnull() | (c.completed_on > p.day)])
    return j.group_by(["customer_id", "day"]).aggregate(abandoned_on=j.created_on.max())


# What :func:`lines_as_of` gives per line: its order's fields, then the product's.
_ORDER_COLUMNS = ("customer_id", "day", "order_id", "seq", "processed_on", "channel",
                  "utm_source", "utm_medium", "utm_campaign", "source_name", "discount_codes",
                  "order_tags", "is_subscription", "total", "location_id", "app_id")
_LINE_COLUMNS = ("product_id", "sku", "product_type", "vendor", "product_line", "product_tags",
                 "quantity", "category_id", "category_name")


def lines_as_of(
    orders: ir.Table,
    lines: ir.Table,
    points: ir.Table | dt.date | None = None,
    *,
    settled: dt.date | None = None,
) -> ir.Table:
    """The lines of :func:`orders_as_of` rows, each with its order's fields and position.

    On a single day on or after ``settled`` (see :class:`Facts`) the lines of never-cancelled
    orders are read straight from ``line_facts``, which carries their orders' fields.
    """
    day = Points.of(points).day if points is not None else None
    if day is not None and settled is not None and day >= settled:
        valid = lines.filter(lines.seq.notnull()).mutate(day=ibis.date(day))
        return valid.select(*_ORDER_COLUMNS, *_LINE_COLUMNS)
    o = orders.select(*(c for c in _ORDER_COLUMNS if c in orders.columns))
    lf = lines.select("order_id", *_LINE_COLUMNS).rename(l_order_id="order_id")
    return o.join(lf, o.order_id == lf.l_order_id).drop("l_order_id")
