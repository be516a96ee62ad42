"""The membership ledger: one warehouse table per segment version.

Rows are ``(customer_id, valid_from, valid_to)``: the customer was a member on every day
``valid_from <= day < valid_to`` (``valid_to`` NULL: still a member).

A new version's history is written to a new table (``membership_<segment id>_<tag>``) and the
state store switches the segment's pointer to it in one transaction, so a crash leaves the old
one whole. The daily run then extends that table in place (:func:`apply_day`): recording a
day never changes how earlier days read, and recording it again gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.engine import execute

__all__ = ["Change", "apply_day", "changes", "drop_tables", "members_as_of", "write_history"]

@dataclass(frozen=True)
class Change:
    """A new membership table and the day's movement (vs the previous day)."""

    table: str
    joined: int
    left: int


def table_name(segment_id: int, tag: str) -> str:
    """The warehouse table of a segment's membership ledger.

    >>> table_name(3, "abc")
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


def apply_day(con: BaseBackend, table: str, members: ir.Table, day: dt.date) -> Change:
    """Record ``members`` as the segment's members on ``day``, in place.

    First whatever was recorded for ``day`` or later is undone (stretches starting then are
    deleted, stretches ending then are reopened), so applying the same day twice gives the
    same ledger: that is what makes a second run for a day a no-op. Then the open stretches of
    customers who are no longer members end on ``day`` and new members get a stretch from
    ``day``. Days before ``day`` read exactly as before, so a run that fails later leaves
    the previous day's state whole; the caller wraps all segments in one transaction.
    """
    d = ibis.date(day)
    scratch = f"_members_{uuid.uuid4().hex[:8]}"
    # Evaluated once: the members expression may be a whole compiled segment query.
    con.create_table(scratch, members.select("customer_id").distinct(), temp=True)
    try:
        if _recorded_from(con, table, day):  # a day recorded before: undo it first
            starts_later = sg.column("valid_from", quoted=True) >= _day(day)
            execute(con, sge.delete(_t(table), where=starts_later))
            execute(con, _reopen(table, day))
        ledger, current = con.table(table), con.table(scratch)
        open_ = ledger.filter(ledger.valid_to.isnull())
        joining = current.anti_join(open_, "customer_id")
        execute(con, _close_leavers(table, scratch, day))
        con.insert(
            table,
            joining.select("customer_id", valid_from=d, valid_to=ibis.null().cast("date")),
        )
    finally:
        con.drop_table(scratch, force=True)
    return Change(table, *_moves_on(con, table, day))


def _recorded_from(con: BaseBackend, table: str, day: dt.date) -> bool:
    """Whether anything is recorded for ``day`` or later (a stretch starting or ending then)."""
    t, d = con.table(table), ibis.date(day)
    later = t.filter((t.valid_from >= d) | (t.valid_to >= d)).count()
    return int(con.to_pyarrow(later).as_py()) > 0


def _moves_on(con: BaseBackend, table: str, day: dt.date) -> tuple[int, int]:
    """(joined, left) on ``day``: stretches starting and ending that day."""
    t, d = con.table(table), ibis.date(day)
    counts = t.aggregate(
        joined=ibis.ifelse(t.valid_from == d, 1, 0).sum(),
        left=ibis.ifelse(t.valid_to == d, 1, 0).sum(),
    )
    row = con.to_pyarrow(counts).to_pylist()[0]
    return int(row["joined"] or 0), int(row["left"] or 0)


def _t(name: str) -> sge.Table:
    return sg.table(name, quoted=True)


def _day(day: dt.date) -> sge.Expression:
    return sge.cast(sge.convert(day.isoformat()), "date")


def _reopen(table: str, day: dt.date) -> sge.Expression:
    """``UPDATE t SET valid_to = NULL WHERE valid_to >= day`` (undo a later recording)."""
    return sge.update(
        _t(table),
        {"valid_to": sge.null()},
        where=sg.column("valid_to", quoted=True) >= _day(day),
    )


def _close_leavers(table: str, members: str, day: dt.date) -> sge.Expression:
    """End the open stretches of customers not among ``members`` on ``day``."""
    is_member = sg.select("1").from_(sg.table(members, quoted=True).as_("m")).where(
        sg.column("customer_id", table="m", quoted=True).eq(
            sg.column("customer_id", table=table, quoted=True)
        )
    )
    return sge.update(
        _t(table),
        {"valid_to": _day(day)},
        where=sge.and_(
            sg.column("valid_to", quoted=True).is_(sge.null()),
            sge.not_(sge.Exists(this=is_member)),
        ),
    )


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
