"""Segment transitions: where the members of a group of segments were on one day and on another.

A *group* is an ordered list of segments (the lifecycle stages, the RFM groups, any segments a
user picks). On a day each customer has one *place* in the group: the position of the first
segment of the group (in the group's order) they are a member of, or :data:`NONE` (-1) when they
are a member of none. A customer in several segments of the group counts in the first only —
the group's order is its priority — so every customer is in one row and one column of the
matrix and the flows add up to each segment's size.

The members of each segment on a day are given as ``(customer_id)`` tables (from the membership
history, :func:`segmentry.analytics.membership.members_as_of`, or an evaluation); this module
only combines them, in Ibis, so it runs on every engine.

>>> import ibis
>>> a = ibis.memtable({"customer_id": ["1", "2"]})
>>> b = ibis.memtable({"customer_id": ["2", "3"]})
>>> places_on([a, b]).order_by("customer_id").execute().place.tolist()
[0, 0, 1]
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

__all__ = ["NONE", "flow_members", "flows", "overlaps", "places_on"]

# The place of a customer who is a member of no segment of the group.
NONE = -1


def places_on(members: Sequence[ir.Table]) -> ir.Table:
    """``(customer_id, place)``: each customer in at least one of ``members`` (the group's
    segments in order, each a ``(customer_id)`` table for one day) with the position of the first
    segment holding them."""
    parts = [
        m.select(customer_id=m.customer_id.cast("string"), place=ibis.literal(i, "int64"))
        for i, m in enumerate(members)
    ]
    both = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    return both.group_by("customer_id").aggregate(place=both.place.min())


def overlaps(members: Sequence[ir.Table]) -> ir.IntegerScalar:
    """How many customers are members of two or more of the segments on the day (those the
    first-wins rule placed in one)."""
    parts = [m.select(customer_id=m.customer_id.cast("string")) for m in members]
    both = ibis.union(*parts, distinct=False) if len(parts) > 1 else parts[0]
    per = both.group_by("customer_id").aggregate(n=both.count())
    return per.filter(per.n > 1).count()


def _moves(before: ir.Table, after: ir.Table) -> ir.Table:
    """``(customer_id, from_place, to_place)`` of every customer in the group on either day."""
    a = after.select(to_id="customer_id", to_place="place")
    joined = before.outer_join(a, before.customer_id == a.to_id)
    return joined.select(
        customer_id=joined.customer_id.fill_null(joined.to_id),
        from_place=joined.place.fill_null(NONE),
        to_place=joined.to_place.fill_null(NONE),
    )


def flows(before: ir.Table, after: ir.Table) -> ir.Table:
    """``(from_place, to_place, customers)``: the transition matrix, one row per non-empty cell.

    ``before`` and ``after`` are :func:`places_on` of the two days. Customers in no segment of
    the group on both days are not counted (they never entered the group).
    """
    moves = _moves(before, after)
    return moves.group_by(["from_place", "to_place"]).aggregate(customers=moves.count())


def flow_members(before: ir.Table, after: ir.Table, from_place: int, to_place: int) -> ir.Table:
    """``(customer_id)`` of the customers behind one cell of :func:`flows`."""
    moves = _moves(before, after)
    cell = moves.filter((moves.from_place == from_place) & (moves.to_place == to_place))
    return cell.select("customer_id")
