"""LINE identity as of a day: whether a customer is linked to a LINE user, and whether that
user has blocked the account (``line_linked``, ``line_blocked``; docs/segment-language.md).

The ledger's ``line_events`` holds one row per event (see :mod:`segmentry.ledger.line`):
``link`` / ``unlink`` name a customer and a LINE user, ``follow`` / ``unfollow`` a LINE user
(LINE sends ``unfollow`` when a user blocks the account). Each kind of state is a run of
*stretches*, each event holding from its day until the day of the next event of the same
key (events of one day: the last wins):

- a customer's link: the customer's latest ``link`` / ``unlink``;
- a LINE user's customer: the user's latest ``link`` / ``unlink`` (a newer link of the same
  user to another customer ends the older one);
- a LINE user's block: the user's latest ``follow`` / ``unfollow``.

On a day, a customer is linked to user U when their own stretch says U and U's stretch says
them. A customer with no link event by that day falls back to the ledger's
``customers.line_user_id`` (an import's column, which has no history: it counts on every
day). ``line_blocked`` is true when the linked user's latest follow / unfollow by that day is
an ``unfollow``: a block needs a link (an unlinked follower who blocks is nobody's).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.asof import Points, line_events_table

__all__ = ["LineSummary", "line_change_days", "line_events_table", "line_state", "line_summary"]


def line_state(
    events: ir.Table | None, customers: ir.Table, points: Points | ir.Table | dt.date
) -> ir.Table:
    """Per point, ``(customer_id, day, line_user_id, line_linked, line_blocked)``: the LINE user
    linked to the customer at the end of the day (NULL: none) and whether they blocked it.

    ``customers`` needs ``customer_id`` and ``line_user_id`` (the fallback above); every
    point's customer gets a row (a point of an unknown customer: not linked).
    """
    where = Points.of(points)
    fallback = customers.select(
        c_customer_id="customer_id",
        c_user=_blank_is_null(customers.line_user_id),
    )
    if where.day is not None:
        base = fallback.select(customer_id=fallback.c_customer_id,
                               day=ibis.date(where.day), fallback=fallback.c_user)
    else:
        assert where.table is not None
        p = where.table
        j = p.left_join(fallback, p.customer_id == fallback.c_customer_id)
        base = j.select("customer_id", "day", fallback=j.c_user)
    if events is None:
        user = base.fallback
        return base.select("customer_id", "day", line_user_id=user,
                           line_linked=user.notnull(), line_blocked=ibis.literal(False))
    links = events.filter(events.event.isin(["link", "unlink"]) & events.customer_id.notnull())
    stretch = _stretches(links, "customer_id")
    own = stretch.select(
        cs_customer="customer_id", cs_from="valid_from", cs_to="valid_to",
        cs_user=ibis.ifelse(stretch.event == "link", stretch.line_user_id, ibis.null("string")),
    )
    users = _stretches(links, "line_user_id")
    held = users.select(
        us_user="line_user_id", us_from="valid_from", us_to="valid_to",
        us_customer=ibis.ifelse(users.event == "link", users.customer_id, ibis.null("string")),
    )
    follows = events.filter(events.event.isin(["follow", "unfollow"]))
    fs = _stretches(follows, "line_user_id")
    blocks = fs.select(fs_user="line_user_id", fs_from="valid_from", fs_to="valid_to",
                       fs_blocked=fs.event == "unfollow")

    # NOTE: a select after each join, so the next join's conditions name one table; views,
    # as the three stretch tables come from one (Ibis would take them for the same).
    own, held, blocks = own.view(), held.view(), blocks.view()
    j = base.left_join(own, [base.customer_id == own.cs_customer,
                             *_holds(own.cs_from, own.cs_to, base.day)])
    j = j.select("customer_id", "day", "fallback", "cs_customer", "cs_user").view()
    j = j.left_join(held, [j.cs_user == held.us_user, *_holds(held.us_from, held.us_to, j.day)])
    mine = ibis.ifelse(j.us_customer == j.customer_id, j.cs_user, ibis.null("string"))
    user = ibis.ifelse(j.cs_customer.notnull(), mine, j.fallback)
    j = j.select("customer_id", "day", line_user_id=user).view()
    j = j.left_join(blocks, [j.line_user_id == blocks.fs_user,
                             *_holds(blocks.fs_from, blocks.fs_to, j.day)])
    j = j.select("customer_id", "day", "line_user_id", "fs_blocked")
    return j.select("customer_id", "day", "line_user_id",
                    line_linked=j.line_user_id.notnull(),
                    line_blocked=j.line_user_id.notnull() & j.fs_blocked.fill_null(False))


@dataclass(frozen=True)
class LineSummary:
    """LINE identity at the end of a day: customers linked, those of them whose LINE user
    blocked the account, and followers no customer is linked to."""

    linked: int
    blocked: int
    unlinked_followers: int


def line_summary(con: BaseBackend, day: dt.date) -> LineSummary:
    """How many customers are linked and blocked on ``day``, and how many LINE users follow
    the account without a customer (a follow names no customer: a CSV file or the metafield
    links them later)."""
    events = line_events_table(con)
    state = line_state(events, con.table("customers"), day)
    counts = state.aggregate(linked=state.line_linked.sum(), blocked=state.line_blocked.sum())
    row = con.to_pyarrow(counts).to_pylist()[0]
    followers = 0
    if events is not None:
        d = ibis.date(day)
        rows = events.filter(events.event.isin(["follow", "unfollow"]))
        fs = _stretches(rows, "line_user_id")
        now = fs.filter((fs.valid_from <= d) & (fs.valid_to.isnull() | (fs.valid_to > d))
                        & (fs.event == "follow"))
        linked = state.filter(state.line_linked).select(user="line_user_id")
        alone = now.anti_join(linked, now.line_user_id == linked.user)
        followers = int(con.to_pyarrow(alone.count()).as_py())
    return LineSummary(int(row["linked"] or 0), int(row["blocked"] or 0), followers)


def line_change_days(events: ir.Table, customers: ir.Table) -> ir.Table:
    """``(customer_id, day)`` of every day a customer's LINE state can change: the days of
    their own link events, of any event of a LINE user ever linked to them, and of follows
    and blocks of the user their ``customers.line_user_id`` names (more days than needed do
    no harm to a history: it only evaluates there)."""
    links = events.filter(events.customer_id.notnull())
    own = links.select("customer_id", day=links.occurred_on)
    ever = links.select(l_user="line_user_id", l_customer="customer_id").distinct()
    e = events.select(e_user="line_user_id", e_day="occurred_on")
    by_user = e.join(ever, e.e_user == ever.l_user).select(customer_id="l_customer",
                                                           day="e_day")
    c = customers.filter(customers.line_user_id.notnull()).select(
        c_customer="customer_id", c_user="line_user_id")
    by_column = e.join(c, e.e_user == c.c_user).select(customer_id="c_customer", day="e_day")
    return ibis.union(own, by_user, by_column, distinct=True)


def _stretches(rows: ir.Table, key: str) -> ir.Table:
    """``rows`` with ``valid_from`` (its day) and ``valid_to`` (the next row's day of the same
    ``key``, exclusive; NULL for the latest): each row holds until the next one."""
    window = ibis.window(group_by=rows[key], order_by=[rows.occurred_at, rows.event_id])
    return rows.mutate(valid_from=rows.occurred_on,
                       valid_to=rows.occurred_on.lead().over(window))


def _holds(start: ir.DateValue, end: ir.DateValue, day: ir.DateValue) -> list[ir.BooleanValue]:
    """Join conditions: the stretch [start, end) holds on ``day``.

    NOTE: an open end as a far date, not ``end IS NULL OR end > day``: DuckDB cannot join on
    an OR and falls back to a nested-loop join (every customer against every event: minutes for
    a million customers), while plain comparisons keep the hash join on the key."""
    return [start <= day, end.fill_null(_OPEN_END) > day]


_OPEN_END = ibis.date(9999, 12, 31)


def _blank_is_null(text: ir.StringValue) -> ir.StringValue:
    trimmed = text.strip()
    return ibis.ifelse(trimmed == "", ibis.null("string"), trimmed)
