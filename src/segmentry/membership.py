"""The membership ledger: one warehouse table per segment version.

Rows are ``(customer_id, valid_from, valid_to)``: the customer was a member on every day
``valid_from <= day < valid_to`` (``valid_to`` NULL: still a member). Tables are never updated
in place: each change writes a new table (``membership_<segment id>_<tag>``) and the state store
switches the segment's pointer to it in one transaction, so a crash leaves the old one whole.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

__all__ = ["Change", "apply_day", "changes", "drop_tables", "members_as_of", "write_history"]

_NAME = re.compile(r"^membership_(\d+)_")


@dataclass(frozen=True)
class Change:
    """A new membership table and the day's movement (vs the previous day)."""

    table: str
    joined: int
    left: int


def table_name(segment_id: int, tag: str) -> str:
    """>>> table_name(3, "abc")
    'membership_3_abc'
    """
    return f"membership_{segment_id}_{tag}"


def write_history(con: BaseBackend, segment_id: int, intervals: ir.Table, *, tag: str) -> str:
    """Materialise membership stretches as a new table; returns its name."""
    name = table_name(segment_id, tag)
    rows = intervals.select(
        customer_id=intervals.customer_id.cast("string"),
        valid_from=intervals.valid_from.cast("date"),
        valid_to=intervals.valid_to.cast("date"),
    )
    con.create_table(name, rows, overwrite=True)
    return name


def members_as_of(con: BaseBackend, table: str, day: dt.date) -> ir.Table:
    """``(customer_id)`` of the members on ``day``."""
    t = con.table(table)
    d = ibis.date(day)
    return t.filter((t.valid_from <= d) & (t.valid_to.isnull() | (t.valid_to > d))).select(
        "customer_id"
    )


def apply_day(
    con: BaseBackend, table: str, members: ir.Table, day: dt.date, *, tag: str
) -> Change:
    """A new table: the ledger up to the day before ``day``, then ``members`` on ``day``.

    Re-applying the same day gives the same table (what was recorded for ``day`` before is
    replaced, not added to), which is what makes a second run for a day a no-op.
    """
    old = con.table(table)
    d = ibis.date(day)
    # Evaluated once: the members expression may be a whole compiled segment query.
    scratch = f"_members_{uuid.uuid4().hex[:8]}"
    members = con.create_table(scratch, members.select("customer_id").distinct(), temp=True)
    try:
        return _apply(con, table, old, members, d, tag)
    finally:
        con.drop_table(scratch, force=True)


def _apply(
    con: BaseBackend, table: str, old: ir.Table, members: ir.Table, d: Any, tag: str
) -> Change:
    # The ledger as it stood at the end of the previous day.
    base = old.filter(old.valid_from < d).mutate(
        valid_to=ibis.ifelse(old.valid_to >= d, ibis.null().cast("date"), old.valid_to)
    )
    open_ = base.filter(base.valid_to.isnull())
    closed = base.filter(base.valid_to.notnull())
    staying = open_.semi_join(members, "customer_id")
    leaving = open_.anti_join(members, "customer_id").mutate(valid_to=d)
    joining = members.anti_join(open_, "customer_id").select(
        "customer_id", valid_from=d, valid_to=ibis.null().cast("date")
    )
    segment_id = int(_segment_id(table))
    if table_name(segment_id, tag) == table:
        raise ValueError(f"apply_day would overwrite the table it reads: {table!r}")
    name = write_history(
        con, segment_id, ibis.union(closed, staying, leaving, joining), tag=tag
    )
    new = con.table(name)
    counts = new.aggregate(
        joined=ibis.ifelse(new.valid_from == d, 1, 0).sum(),
        left=ibis.ifelse(new.valid_to == d, 1, 0).sum(),
    )
    row = con.to_pyarrow(counts).to_pylist()[0]
    return Change(name, int(row["joined"] or 0), int(row["left"] or 0))


def changes(con: BaseBackend, table: str, start: dt.date, end: dt.date) -> ir.Table:
    """``(day, joined, left)`` for every day in [start, end] with a change."""
    t = con.table(table)
    s, e = ibis.date(start), ibis.date(end)
    joins = t.filter(t.valid_from.between(s, e)).select(day=t.valid_from, joined=1, left=0)
    leaves = t.filter(t.valid_to.between(s, e)).select(day=t.valid_to, joined=0, left=1)
    both = ibis.union(joins, leaves)
    return both.group_by("day").aggregate(joined=both.joined.sum(), left=both.left.sum())


def drop_tables(con: BaseBackend, names: list[str]) -> None:
    """Drop membership tables that are no longer pointed to (missing ones are fine)."""
    for name in names:
        if name:
            con.drop_table(name, force=True)


def _segment_id(table: str) -> str:
    match = _NAME.match(table)
    if match is None:
        raise ValueError(f"not a membership table name: {table!r}")
    return match.group(1)
