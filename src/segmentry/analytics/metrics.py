"""Daily metrics of a segment, computed from its membership ledger (docs/metrics.md).

For every day ``d`` in the range, over the customers who are members at the end of ``d`` and
using only orders valid at the end of ``d`` (processed by then, not cancelled by then):

- ``customers``: how many members;
- ``repeat_rate``: share of members with 2 or more orders;
- ``ltv``: average amount spent per member (``total - refunded`` when refunds are subtracted);
- ``aov``: average over members with an order of each member's own average order value;
- ``avg_orders``: average number of orders per member;
- ``purchase_interval``: average over members with 2+ orders of
  (last order day − first order day) / (orders − 1), in days;
- ``revenue`` / ``orders``: amount and count of the orders members placed on ``d``;
- ``joined`` / ``left``: customers who became / stopped being members on ``d``.

How: a customer's order statistics only change on days they order or an order is cancelled,
so each customer has a few *state stretches*. Intersecting them with the membership stretches
gives pieces with constant statistics; each piece adds its numbers on its first day and
removes them on the day after its last, and a running sum over the calendar gives every day
at once — the work grows with the number of changes, not with days × members.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from segmentry.analytics.asof import orders_as_of
from segmentry.analytics.facts import refund_table
from segmentry.analytics.membership import changes
from segmentry.engine import Scratch

if TYPE_CHECKING:
    from segmentry.analytics.evaluation import Snapshot

__all__ = ["METRIC_COLUMNS", "daily_metrics", "metrics_of_all_on_day", "no_metrics"]

METRIC_COLUMNS = [
    "day",
    "customers",
    "repeat_rate",
    "ltv",
    "aov",
    "avg_orders",
    "purchase_interval",
    "revenue",
    "orders",
    "joined",
    "left",
]
_SUMS = ("members", "with_orders", "repeaters", "orders_sum", "spent_sum", "aov_sum",
         "interval_sum")


def daily_metrics(
    con: BaseBackend,
    membership: ir.Table,
    start: dt.date,
    end: dt.date,
    snapshot: Snapshot | None = None,
) -> pd.DataFrame:
    """One row per day in [start, end] with the metrics above (Decimal values).

    ``membership``: the members' stretches ``(customer_id, valid_from, valid_to)`` — a
    segment's ledger (:func:`segmentry.analytics.membership.stretches`) or any table expression of
    that
    shape (the whole store: :func:`segmentry.analytics.shop_metrics.shop_metrics`). A
    :class:`~segmentry.analytics.evaluation.Snapshot` of ``end`` makes the one-day case of the
    daily run
    cheap: members' statistics are read from it instead of rebuilt.
    """
    membership = membership.select("customer_id", "valid_from", "valid_to")
    if snapshot is not None and start == end == snapshot.day:
        deltas = con.execute(_day_sums(membership, snapshot, end))
    else:
        deltas = con.execute(_deltas(con, membership, start, end))
    sales = con.execute(_sales(con, membership, start, end))
    moves = con.execute(changes(membership, start, end))
    return _assemble(start, end, deltas, sales, moves)


def no_metrics(start: dt.date, end: dt.date) -> pd.DataFrame:
    """The metrics of nobody: one row per day in [start, end] with zero customers."""
    empty = pd.DataFrame(columns=["day"])
    return _assemble(start, end, empty, empty, empty)


def _states(con: BaseBackend, customers: ir.Table, start: dt.date) -> ir.Table:
    """Stretches of constant order statistics per customer from ``start`` on: the state at
    the end of ``start``, then one from each later order or cancel day."""
    # NOTE: an inner join with the (distinct) customers, not semi_join: ibis 12 compiles that
    # semi join into "LEFT SEMI JOIN" on PostgreSQL when the table is reused in a union.
    o = con.table("order_facts").join(customers, "customer_id")
    first_day = ibis.date(start)
    parts = [
        customers.select("customer_id", day=first_day),
        o.filter(o.processed_on > first_day).select("customer_id", day=o.processed_on),
        o.filter(o.cancelled_on > first_day).select("customer_id", day=o.cancelled_on),
    ]
    refunds = refund_table(con)
    if refunds is not None:  # a refund changes what the customer spent from its day on
        r = refunds.join(customers, "customer_id")
        parts.append(r.filter(r.refunded_on > first_day).select("customer_id", day=r.refunded_on))
    events = ibis.union(*parts, distinct=True)
    a = orders_as_of(o, events, positions=False, refunds=refunds)
    stats = a.group_by(["customer_id", "day"]).aggregate(
        n=a.count(),
        spent=a.amount.sum().cast("decimal(18, 2)"),
        first=a.processed_on.min(),
        last=a.processed_on.max(),
    )
    # NOTE: a day with no valid order is a state too (zero orders: before the first order, or
    # after a cancel); the inner join in orders_as_of has no row for it, so every event day is
    # taken from `events`.
    states = events.left_join(stats, ["customer_id", "day"]).select(
        events.customer_id,
        events.day,
        n=stats.n.fill_null(0),
        spent=stats.spent.fill_null(0).cast("decimal(18, 2)"),
        first=stats["first"],
        last=stats["last"],
    )
    window = ibis.window(group_by=states.customer_id, order_by=states.day)
    return states.mutate(state_to=states.day.lead().over(window))


def metrics_of_all_on_day(con: BaseBackend, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """The day's metrics of every segment in ``snapshot.members_of_all``, in a few queries.

    ``joined`` and ``left`` are left at 0: the membership diff knows them.
    """
    if not snapshot.member_columns:
        return {}
    wide, columns = snapshot.tables["members"], snapshot.member_columns
    stats = snapshot.tables["stats"].drop("day")
    j = wide.left_join(stats, "customer_id")
    n, spent = j.n_orders.fill_null(0), j.spent.fill_null(0)
    span = (j.last_day.epoch_days() - j.first_day.epoch_days()).cast("float64")
    # Each customer's numbers computed once, then one row per (segment, member) summed per
    # segment: cheaper than a conditional sum per segment and number over every customer.
    with Scratch(con) as scratch:
        pieces = con.table(
            scratch.keep(j.select(*columns.values(), **_piece_sums(n, spent, span)))
        )
        rows = ibis.union(
            *(
                pieces.filter(pieces[column]).select(*_SUMS, segment=ibis.literal(column))
                for column in columns.values()
            ),
            distinct=False,
        )
        totals = rows.group_by("segment").aggregate(**{k: rows[k].sum() for k in _SUMS})
        by_segment = {r["segment"]: r for r in con.to_pyarrow(totals).to_pylist()}
    d = ibis.date(snapshot.day)
    o = con.table("order_facts")
    o = o.filter((o.processed_on == d) & (o.cancelled_on.isnull() | (o.cancelled_on > d)))
    s = _as_placed(con, o).select("customer_id", "amount").join(wide, "customer_id")
    sales = s.aggregate(
        **{
            f"{column}__{key}": ibis.ifelse(s[column], value, 0).sum()
            for column in columns.values()
            for key, value in (("revenue", s.amount), ("orders", ibis.literal(1)))
        }
    )
    v = con.to_pyarrow(sales).to_pylist()[0]
    result = {}
    for segment, column in columns.items():
        t = by_segment.get(column, {})
        running = {k: Decimal(str(t.get(k) or 0)) for k in _SUMS}
        day_sales = {k: v[f"{column}__{k}"] for k in ("revenue", "orders")}
        result[segment] = _row(snapshot.day, running, day_sales, {})
    return result


def _day_sums(membership: ir.Table, snapshot: Snapshot, day: dt.date) -> ir.Table:
    """The sums of one day straight from the snapshot's per-customer statistics."""
    d = ibis.date(day)
    members = membership.filter(
        (membership.valid_from <= d) & (membership.valid_to.isnull() | (membership.valid_to > d))
    ).select("customer_id")
    stats = snapshot.tables["stats"]
    j = members.left_join(stats, "customer_id")
    n = j.n_orders.fill_null(0)
    spent = j.spent.fill_null(0)
    span = (j.last_day.epoch_days() - j.first_day.epoch_days()).cast("float64")
    pieces = j.select(
        day=d,
        **_piece_sums(n, spent, span),
    )
    return pieces.group_by("day").aggregate(**{k: pieces[k].sum() for k in _SUMS})


def _piece_sums(n: ir.IntegerValue, spent: ir.Value, span: ir.Value) -> dict[str, ir.Value]:
    """The additive numbers one customer contributes, from orders, amount and first→last days."""
    return {
        "members": ibis.literal(1, "int64"),
        "with_orders": ibis.ifelse(n >= 1, 1, 0),
        "repeaters": ibis.ifelse(n >= 2, 1, 0),
        "orders_sum": n,
        "spent_sum": spent,
        "aov_sum": ibis.ifelse(n >= 1, _exact(spent.cast("float64") / n), _exact(0.0)),
        "interval_sum": ibis.ifelse(n >= 2, _exact(span / (n - 1)), _exact(0.0)),
    }


def _exact(value: Any) -> ir.DecimalValue:
    """A per-customer ratio rounded to 6 places as a decimal, so that sums are exact.

    NOTE: summing floats gives engine-dependent last digits (the order of addition differs),
    which can flip a rounded average by 0.01; decimal sums are the same everywhere.
    """
    expr = ibis.literal(value) if isinstance(value, float) else value
    return expr.round(6).cast("decimal(24, 6)")


def _deltas(con: BaseBackend, membership: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """Per day, the change of every sum (pieces start adding on their first day and stop the
    day after their last).

    Only members whose order statistics change inside the range (an order placed or cancelled
    after ``start``) need their state stretches; every other member's statistics are those of
    ``end`` throughout, read with one aggregate. So a short range (the overview's 90 days, a
    catch-up of missed days) costs what its active customers cost, not the whole base.
    """
    busy = _changing_customers(con, start, end)
    m = membership.rename(m_customer_id="customer_id")
    marked = m.left_join(busy, m.m_customer_id == busy.busy_customer_id)
    moving = marked.filter(marked.busy_customer_id.notnull()).drop("busy_customer_id")
    steady = marked.filter(marked.busy_customer_id.isnull()).drop("busy_customer_id")
    pieces = ibis.union(
        _moving_pieces(con, moving, start, end),
        _steady_pieces(con, steady, start, end),
        distinct=False,
    ).filter(lambda t: t.piece_from < t.piece_to)
    starts = pieces.select(day=pieces.piece_from, **{k: pieces[k] for k in _SUMS})
    ends = pieces.filter(pieces.piece_to <= ibis.date(end)).select(
        day=pieces.piece_to, **{k: -pieces[k] for k in _SUMS}
    )
    both = ibis.union(starts, ends)
    return both.group_by("day").aggregate(**{k: both[k].sum() for k in _SUMS})


def _changing_customers(con: BaseBackend, start: dt.date, end: dt.date) -> ir.Table:
    """``(busy_customer_id)``: customers with an order placed, cancelled or refunded in
    (start, end]."""
    o = con.table("order_facts")
    after, last = ibis.date(start + dt.timedelta(days=1)), ibis.date(end)
    placed = o.filter(o.processed_on.between(after, last)).select("customer_id")
    cancelled = o.filter(o.cancelled_on.between(after, last)).select("customer_id")
    parts = [placed, cancelled]
    refunds = refund_table(con)
    if refunds is not None:
        parts.append(refunds.filter(refunds.refunded_on.between(after, last))
                     .select("customer_id"))
    both = ibis.union(*parts, distinct=True)
    return both.select(busy_customer_id=both.customer_id)


def _bounds(valid_from: ir.DateValue, valid_to: ir.DateValue, start: dt.date, end: dt.date
            ) -> tuple[ir.DateValue, ir.DateValue]:
    """A stretch clipped to [start, end] as (first day, day after the last)."""
    after_end = ibis.date(end + dt.timedelta(days=1))
    return (ibis.greatest(valid_from, ibis.date(start)),
            ibis.least(valid_to.fill_null(after_end), after_end))


def _moving_pieces(con: BaseBackend, m: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """Membership stretches ``m`` (``m_customer_id``) cut by the members' state stretches."""
    after_end = ibis.date(end + dt.timedelta(days=1))
    s = _states(con, m.select(customer_id=m.m_customer_id).distinct(), start)
    m_to = m.valid_to.fill_null(after_end)
    s_to = s.state_to.fill_null(after_end)
    j = m.join(s, [m.m_customer_id == s.customer_id, s.day < m_to, s_to > m.valid_from])
    first, after = _bounds(j.valid_from, j.valid_to, start, end)
    span = (j["last"].epoch_days() - j["first"].epoch_days()).cast("float64")
    return j.select(
        piece_from=ibis.greatest(first, j.day),
        piece_to=ibis.least(after, j.state_to.fill_null(after_end)),
        **_piece_sums(j.n, j.spent, span),
    )


def _steady_pieces(con: BaseBackend, m: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """Membership stretches ``m`` of members whose statistics hold through the range."""
    o = orders_as_of(con.table("order_facts"), end, positions=False,
                     refunds=refund_table(con))
    stats = o.group_by("customer_id").aggregate(
        n=o.count(),
        spent=o.amount.sum().cast("decimal(18, 2)"),
        first=o.processed_on.min(),
        last=o.processed_on.max(),
    )
    j = m.left_join(stats, m.m_customer_id == stats.customer_id)
    first, after = _bounds(j.valid_from, j.valid_to, start, end)
    span = (j["last"].epoch_days() - j["first"].epoch_days()).cast("float64")
    return j.select(
        piece_from=first,
        piece_to=after,
        **_piece_sums(j.n.fill_null(0), j.spent.fill_null(0), span),
    )


def _sales(con: BaseBackend, membership: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """Amount and count of orders members placed each day (valid at that day's end)."""
    o = con.table("order_facts")
    o = o.filter(
        o.processed_on.between(ibis.date(start), ibis.date(end))
        & (o.cancelled_on.isnull() | (o.cancelled_on > o.processed_on))
    )
    o = _as_placed(con, o)
    m = membership.rename(m_customer_id="customer_id")
    j = o.join(
        m,
        [
            o.customer_id == m.m_customer_id,
            m.valid_from <= o.processed_on,
            m.valid_to.isnull() | (m.valid_to > o.processed_on),
        ],
    )
    return j.group_by(day=j.processed_on).aggregate(revenue=j.amount.sum(), orders=j.count())


def _as_placed(con: BaseBackend, orders: ir.Table) -> ir.Table:
    """``orders`` (``order_facts`` rows) with ``amount`` as at the end of the day each was
    placed: the refunds made on later days added back (a day's revenue is what it was then)."""
    refunds = refund_table(con)
    if refunds is None:
        return orders
    placed = con.table("order_facts").select("shop_id", "order_id", "processed_on")
    r = refunds.join(placed, ["shop_id", "order_id"])
    r = r.filter(r.refunded_on > r.processed_on)
    back = r.group_by(["shop_id", "order_id"]).aggregate(_back=r.amount.sum())
    j = orders.left_join(back, ["shop_id", "order_id"])
    j = j.drop(*(c for c in j.columns if c.endswith("_right")))
    return j.mutate(amount=(j.amount + j._back.fill_null(0)).cast(orders.amount.type())).drop(
        "_back")


def _assemble(
    start: dt.date, end: dt.date, deltas: pd.DataFrame, sales: pd.DataFrame, moves: pd.DataFrame
) -> pd.DataFrame:
    delta_by_day = {_day(r["day"]): r for r in deltas.to_dict("records")}
    sales_by_day = {_day(r["day"]): r for r in sales.to_dict("records")}
    moves_by_day = {_day(r["day"]): r for r in moves.to_dict("records")}
    running: dict[str, Any] = {k: Decimal(0) for k in _SUMS}
    rows = []
    day = start
    while day <= end:
        for key in _SUMS:
            change = delta_by_day.get(day, {}).get(key)
            if change is not None and not pd.isna(change):
                running[key] += Decimal(str(change))
        rows.append(_row(day, running, sales_by_day.get(day, {}), moves_by_day.get(day, {})))
        day += dt.timedelta(days=1)
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _row(day: dt.date, s: dict[str, Any], sales: dict[str, Any], moves: dict[str, Any]) -> dict:
    members, with_orders, repeaters = s["members"], s["with_orders"], s["repeaters"]
    return {
        "day": day,
        "customers": int(members),
        "repeat_rate": _ratio(repeaters, members, "0.0001"),
        "ltv": _ratio(s["spent_sum"], members, "0.01"),
        "aov": _ratio(s["aov_sum"], with_orders, "0.01"),
        "avg_orders": _ratio(s["orders_sum"], members, "0.0001"),
        "purchase_interval": _ratio(s["interval_sum"], repeaters, "0.01"),
        "revenue": Decimal(str(sales.get("revenue") or 0)).quantize(Decimal("0.01")),
        "orders": int(sales.get("orders") or 0),
        "joined": int(moves.get("joined") or 0),
        "left": int(moves.get("left") or 0),
    }


def _ratio(total: Decimal, count: Decimal, places: str) -> Decimal | None:
    if count <= 0:
        return None
    return (total / count).quantize(Decimal(places))


def _day(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()
