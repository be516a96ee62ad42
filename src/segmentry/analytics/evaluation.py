"""Evaluating segments: members on one day, and a whole membership history at once.

*Members on a day* evaluates the condition at one point per customer.

*History* uses change points. A condition's value for a customer can only change on a day when
something about that customer changes — an order placed or cancelled, a tag change, an
event (a product viewed, an e-mail opened), a checkout abandoned or completed, a store credit
transaction or expiry, the
day the customer starts to count (their creation, see
:func:`segmentry.analytics.asof.customers_as_of`) — or when a relative date in the query
crosses one of those days (``last_order_date < -90d`` flips 91 days after the last order).
So the condition is evaluated only at ``event day + offset`` for the offsets the query
implies (see :func:`segmentry.language.changes.offsets_of`), plus any absolute dates it names,
and membership on any other day is the value at the latest point before it. The result is the
membership ledger directly: one row per stretch of days a customer was a member.

"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.asof import (
    PREDICTION_COLUMNS,
    Facts,
    customer_stats,
    customers_since,
    lines_as_of,
    orders_as_of,
    tags_as_of,
)
from segmentry.analytics.compiler import evaluate, evaluate_many, members
from segmentry.analytics.events import event_functions_of
from segmentry.analytics.line import line_change_days
from segmentry.analytics.store_credit import change_days
from segmentry.engine import Scratch
from segmentry.language import ast
from segmentry.language.changes import (
    absolute_dates_of,
    attributes_of,
    functions_of,
    future_offsets_of,
    offsets_of,
)

__all__ = ["Snapshot", "compiled_sql", "members_on", "membership_history"]

# Attributes read from Shopify's Customer.statistics as synced (customer_statistics_history).
_SHOPIFY_STATISTICS = frozenset({"rfm_group", "predicted_spend_tier"})


def members_on(
    con: BaseBackend,
    condition: ast.Condition,
    day: dt.date,
    snapshot: Snapshot | None = None,
) -> ir.Table:
    """``(customer_id)`` of every member as of the end of ``day``.

    Pass a :class:`Snapshot` of that day when evaluating many segments: they share its work.
    """
    prebuilt = snapshot.tables if snapshot is not None else None
    return members(Facts.of(con), day, condition, prebuilt).select("customer_id")


class Snapshot:
    """Every customer's as-of orders, statistics and tags for one day, computed once.

    The statistics and tags are temporary tables; so are the orders, except on a settled day
    (see :class:`~segmentry.analytics.asof.Facts`), when they are a filter of ``order_facts``.

    >>> # with Snapshot(con, day) as snap: members_on(con, condition, day, snap)
    """

    def __init__(self, con: BaseBackend, day: dt.date, *, with_lines: bool = False) -> None:
        # with_lines: also keep every as-of order line (for many one-off queries, as the web
        # app's live count makes; the daily run reads the lines once and does not need it).
        self.con, self.day, self.with_lines = con, day, with_lines
        self.tables: dict[str, ir.Table] = {}
        # After members_of_all: segment name → its boolean column in tables["members"].
        self.member_columns: dict[str, str] = {}
        self._scratch = Scratch(con)

    def __enter__(self) -> Snapshot:
        self.facts = facts = Facts.of(self.con)
        orders = orders_as_of(
            facts.orders, self.day, settled=facts.settled, refunds=facts.refunds
        )
        if facts.is_settled(self.day):  # a filter of order_facts: nothing worth a copy
            self.tables["orders"] = orders
        else:
            orders = self._materialise("orders", orders)
        self._materialise("stats", customer_stats(orders))
        self._materialise("tags", tags_as_of(facts.tag_history, self.day))
        if self.with_lines:
            lines = lines_as_of(orders, facts.lines, self.day, settled=facts.settled)
            self._materialise("lines", lines)
        return self

    def members_of_all(self, conditions: Mapping[str, ast.Condition]) -> dict[str, ir.Table]:
        """Members of every named condition on the snapshot's day, evaluated in one query."""
        names = list(conditions)
        if not names:
            return {}
        wide = evaluate_many(self.facts, self.day, [conditions[n] for n in names], self.tables)
        table = self._materialise("members", wide)
        self.member_columns = {name: f"m{i}" for i, name in enumerate(names)}
        return {
            name: table.filter(table[column]).select("customer_id")
            for name, column in self.member_columns.items()
        }

    def _materialise(self, key: str, expr: ir.Table) -> ir.Table:
        self.tables[key] = self.con.table(self._scratch.keep(expr))
        return self.tables[key]

    def __exit__(self, *exc: object) -> None:
        self._scratch.__exit__(*exc)


def compiled_sql(con: BaseBackend, condition: ast.Condition, day: dt.date) -> str:
    """The SQL the configured engine runs for the members on ``day``."""
    return str(ibis.to_sql(members_on(con, condition, day), dialect=con.name))


def membership_history(
    con: BaseBackend, condition: ast.Condition, start: dt.date, end: dt.date
) -> ir.Table:
    """``(customer_id, valid_from, valid_to)`` for every membership stretch in [start, end].

    ``valid_to`` is the first day the customer was no longer a member (exclusive), or NULL
    when still a member on ``end``.
    """
    facts = Facts.of(con)
    points = _change_points(facts, condition, start, end)
    result = evaluate(facts, points, condition)
    return _stretches(points, result)


def _events(facts: Facts, condition: ast.Condition) -> ir.Table:
    """``(customer_id, day)`` of everything that can change the condition for a customer.

    Tag changes matter only to conditions on ``customer_tags``, customer events (a product
    viewed, an e-mail opened) only to conditions calling their functions, LINE links and
    blocks only to ``line_linked`` and ``line_blocked``, checkouts (started, completed) only to
    ``abandoned_checkout_date``, a new observation of Shopify's statistics only to
    ``rfm_group`` and ``predicted_spend_tier``, store credit (a transaction, an account read, a
    credit's expiry) only to ``store_credit_accounts``, a new fit of the predictive models only
    to their attributes; a refund changes
    what the customer spent (``amount_spent`` and what reads it).
    """
    o, h = facts.orders, facts.tag_history
    placed = o.select("customer_id", day=o.processed_on)
    cancelled = o.filter(o.cancelled_on.notnull()).select("customer_id", day=o.cancelled_on)
    since = customers_since(facts)
    created = since.select("customer_id", day=since.since_on)
    parts = [placed, cancelled, created]
    if facts.refunds is not None:
        parts.append(facts.refunds.select("customer_id", day=facts.refunds.refunded_on))
    if "customer_tags" in attributes_of(condition):
        parts.append(h.select("customer_id", day=h.seen_on))
    if facts.checkouts is not None and "abandoned_checkout_date" in attributes_of(condition):
        c = facts.checkouts  # a checkout abandoned, and no longer once completed
        parts.append(c.select("customer_id", day=c.created_on))
        done = c.filter(c.completed_on.notnull())
        parts.append(done.select("customer_id", day=done.completed_on))
    if facts.statistics is not None and attributes_of(condition) & _SHOPIFY_STATISTICS:
        s = facts.statistics  # Shopify's RFM group and spend tier, as each sync saw them
        parts.append(s.select("customer_id", day=s.seen_on))
    read = attributes_of(condition)
    if facts.predictions is not None and read & set(PREDICTION_COLUMNS):
        # A new fit changes every prediction; a future day compared with the predicted next
        # order day flips that many days before it.
        pr = facts.predictions
        parts.append(pr.select("customer_id", day=pr.fit_date))
        if "predicted_next_order_date" in read:
            dated = pr.filter(pr.predicted_next_order_date.notnull())
            ahead = sorted(future_offsets_of(condition) | {0})
            parts.append(dated.select("customer_id", day=dated.predicted_next_order_date
                                      - _array(ahead, "int64").unnest().as_interval("D")))
    if facts.events is not None and event_functions_of(condition):
        e = facts.events
        parts.append(e.select("customer_id", day=e.occurred_on))
    if facts.credit_accounts is not None and "store_credit_accounts" in functions_of(condition):
        parts.append(change_days(facts.credit_accounts, facts.credit_transactions,
                                 future_offsets_of(condition)))
    if facts.line_events is not None and attributes_of(condition) & _LINE_ATTRIBUTES:
        parts.append(line_change_days(facts.line_events, facts.customers))
    return ibis.union(*parts, distinct=True)


# Attributes read from the LINE events (segmentry.analytics.line).
_LINE_ATTRIBUTES = {"line_linked", "line_blocked"}


def _change_points(
    facts: Facts, condition: ast.Condition, start: dt.date, end: dt.date
) -> ir.Table:
    events = _events(facts, condition)
    # NOTE: one array of offsets (and one of dates) unnested, not a union of one select per
    # offset: a query may imply thousands of them, and Ibis nests a union of n tables n deep.
    # An offset larger than every day up to `end` never lands on or before `end`: dropped, so
    # that day + offset cannot overflow a date.
    horizon = (end - dt.date.min).days
    offsets = sorted(k for k in offsets_of(condition) if k <= horizon)
    shifted = events.select(
        "customer_id", day=events.day + _array(offsets, "int64").unnest().as_interval("D")
    )
    parts = [shifted]
    dates = sorted(absolute_dates_of(condition))
    if dates:
        customers = facts.customers.select("customer_id")
        parts.append(customers.select("customer_id", day=_array(dates, "date").unnest()))
    points = ibis.union(*parts, distinct=False)
    points = points.filter(points.day <= ibis.date(end))
    clamped = points.select(
        "customer_id", day=ibis.greatest(points.day.cast("date"), ibis.date(start))
    )
    return clamped.distinct()


def _array(values: list[Any], of: str) -> ir.ArrayValue:
    return ibis.literal(values, type=f"array<{of}>")


def _stretches(points: ir.Table, result: ir.Table) -> ir.Table:
    """Turn point evaluations into membership stretches (value holds until the next point)."""
    # Points where the customer did not exist yet evaluate to "not a member".
    full = points.left_join(result, ["customer_id", "day"]).select(
        "customer_id", "day", member=ibis._.member.fill_null(False)
    )
    window = ibis.window(group_by=full.customer_id, order_by=full.day)
    full = full.mutate(previous=full.member.lag().over(window))
    changes = full.filter(full.member != full.previous.fill_null(False))
    after = ibis.window(group_by=changes.customer_id, order_by=changes.day)
    changes = changes.mutate(next_change=changes.day.lead().over(after))
    stretches = changes.filter(changes.member)
    return stretches.select(
        "customer_id",
        valid_from=stretches.day.cast("date"),
        valid_to=stretches.next_change.cast("date"),
    )
