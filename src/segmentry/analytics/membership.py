"""The membership ledger: one warehouse table, ``membership``, for every segment version.

Rows are ``(ledger, customer_id, valid_from, valid_to)``: the customer was a member of the
ledger's segment version on every day ``valid_from <= day < valid_to`` (``valid_to`` NULL:
still a member). ``ledger`` is ``<segment id>_<tag>``, one key per computed version
(``new_<tag>`` for a segment being added, which has no id until it is saved).

A new version's history is written under a new key and the state store switches the
segment's pointer to it in one transaction, so a crash leaves the old one whole; the old key's
rows are deleted after the switch (:func:`forget`). Rows of a key no segment points to (left by
a killed process) are deleted at the start of the next write; the state store lists those keys
(see :meth:`segmentry.app.segments.SegmentBook.forget_unclaimed`).

The daily run records the day for every segment at once (:func:`record_day`): a few set-based
statements whatever the number of segments. Recording a day never changes how earlier days
read, and recording it again gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import sqlglot as sg
import sqlglot.expressions as sge
from ibis.backends import BaseBackend

from segmentry.engine import Scratch, execute

__all__ = [
    "TABLE",
    "Change",
    "changes",
    "forget",
    "ledger_key",
    "ledgers",
    "members_as_of",
    "record_day",
    "stretches",
    "write_history",
]

TABLE = "membership"
_SCHEMA = ibis.schema(
    {"ledger": "string", "customer_id": "string", "valid_from": "date", "valid_to": "date"}
)


@dataclass(frozen=True)
class Change:
    """A ledger's movement on a recorded day (vs the day before)."""

    ledger: str
    joined: int
    left: int


def ledger_key(segment_id: int | None, tag: str) -> str:
    """The key of one computed version of a segment (``None``: a segment being added).

    >>> ledger_key(3, "abc"), ledger_key(None, "abc")
    ('3_abc', 'new_abc')
    """
    return f"{'new' if segment_id is None else segment_id}_{tag}"


# A table per segment version, as warehouses held them before the membership table.
_OLD_LAYOUT = re.compile(r"membership_\d+_\w+")


def ensure_table(con: BaseBackend) -> None:
    """Create the ``membership`` table if the warehouse has none yet.

    A warehouse of the earlier layout loses its per-version tables then: the state store's
    upgrade has already marked their segments for recomputing (see :mod:`segmentry.store.migrate`).
    """
    existing = con.list_tables()
    if TABLE in existing:
        return
    con.create_table(TABLE, schema=_SCHEMA)
    for name in existing:
        if _OLD_LAYOUT.fullmatch(name):
            con.drop_table(name, force=True)


def write_history(
    con: BaseBackend, segment_id: int | None, intervals: ir.Table, *, tag: str
) -> str:
    """Store membership stretches under a new ledger key; returns the key."""
    ensure_table(con)
    key = ledger_key(segment_id, tag)
    rows = intervals.select(
        ledger=ibis.literal(key),
        customer_id=intervals.customer_id.cast("string"),
        valid_from=intervals.valid_from.cast("date"),
        valid_to=intervals.valid_to.cast("date"),
    )
    con.insert(TABLE, rows)
    return key


def stretches(con: BaseBackend, ledger: str) -> ir.Table:
    """``(customer_id, valid_from, valid_to)`` of one ledger."""
    t = con.table(TABLE)
    return t.filter(t.ledger == ledger).select("customer_id", "valid_from", "valid_to")


def members_as_of(con: BaseBackend, ledger: str, day: dt.date) -> ir.Table:
    """``(customer_id)`` of the members on ``day``."""
    t, d = stretches(con, ledger), ibis.date(day)
    return t.filter((t.valid_from <= d) & (t.valid_to.isnull() | (t.valid_to > d))).select(
        "customer_id"
    )


def record_day(
    con: BaseBackend, wide: ir.Table, columns: Mapping[str, str], day: dt.date
) -> dict[str, Change]:
    """Record the customers of ``wide`` (one row per customer) whose boolean ``column`` is
    true as the members of each ledger (``columns``: ledger → column) on ``day``.

    First whatever was recorded for ``day`` or later is undone (stretches starting then are
    deleted, stretches ending then are reopened), so recording the same day twice gives the
    same ledger: that is what makes a second run for a day a no-op. Then the day's members
    are compared with the open stretches (:func:`_moves`); the leavers' stretches end on
    ``day`` and the joiners get one from ``day``. Days before ``day`` read exactly as before;
    the caller wraps the call in a warehouse transaction.
    """
    keys = list(columns)
    if not keys:
        return {}
    ensure_table(con)
    if _recorded_from(con, keys, day):
        execute(con, _undo_deleting(keys, day))
        execute(con, _undo_reopening(keys, day))
    with Scratch(con) as scratch:
        moves = _moves(con, wide, columns, scratch)
        execute(con, _close_leavers(moves, day))
        joiners = con.table(moves).filter(ibis._.joined)
        con.insert(
            TABLE,
            joiners.select(
                "ledger", "customer_id", valid_from=ibis.date(day),
                valid_to=ibis.null().cast("date"),
            ),
        )
        t = con.table(moves)
        counts = t.group_by("ledger").aggregate(joined=t.joined.sum(), left=(~t.joined).sum())
        moved = {r["ledger"]: r for r in con.to_pyarrow(counts).to_pylist()}
    return {
        key: Change(key, int(moved.get(key, {}).get("joined") or 0),
                    int(moved.get(key, {}).get("left") or 0))
        for key in keys
    }


# Ledgers compared at once: one bit each in a signed 64-bit mask.
_LEDGERS_PER_MASK = 62


def _moves(con: BaseBackend, wide: ir.Table, columns: Mapping[str, str], scratch: Scratch) -> str:
    """A temporary table of ``(ledger, customer_id, joined)``: open stretches whose customer
    is no longer a member (``joined`` false) and members without one (true).

    Each customer's open ledgers and the day's memberships become one bit mask each (a bit
    per ledger); only customers whose two masks differ are spelled out per ledger. That is
    one aggregate of the open stretches and one join per customer, however many segments.
    """
    items = list(columns.items())
    parts = []
    for start in range(0, len(items), _LEDGERS_PER_MASK):
        bits = {key: (1 << i, column) for i, (key, column)
                in enumerate(items[start:start + _LEDGERS_PER_MASK])}
        differ = con.table(scratch.keep(_differing_masks(con, wide, bits)))
        parts += [
            differ.filter((differ.was ^ differ.now) & bit != 0).select(
                ledger=ibis.literal(key),
                customer_id=differ.customer_id,
                joined=(differ.now & bit) != 0,
            )
            for key, (bit, _) in bits.items()
        ]
    return scratch.keep(ibis.union(*parts, distinct=False))


def _differing_masks(con: BaseBackend, wide: ir.Table, bits: Mapping[str, tuple[int, str]]
                     ) -> ir.Table:
    """``(customer_id, was, now)``: the customers whose open ledgers (``was``) and memberships
    on the day (``now``) differ, as bit masks over ``bits`` (ledger → bit, column)."""
    t = con.table(TABLE)
    index = ibis.memtable(
        {"ledger": list(bits), "bit": [bit for bit, _ in bits.values()]},
        schema={"ledger": "string", "bit": "int64"},
    )
    open_ = t.filter(t.valid_to.isnull() & t.ledger.isin(list(bits))).join(index, "ledger")
    was = open_.group_by("customer_id").aggregate(was=open_.bit.bit_or())
    now = wide.select(
        n_customer_id=wide.customer_id.cast("string"),
        now=_sum(ibis.ifelse(wide[column], ibis.literal(bit, "int64"), ibis.literal(0, "int64"))
                 for bit, column in bits.values()),
    )
    both = was.outer_join(now, was.customer_id == now.n_customer_id)
    masks = both.select(
        customer_id=both.customer_id.fill_null(both.n_customer_id),
        was=both.was.fill_null(0),
        now=both.now.fill_null(0),
    )
    return masks.filter(masks.was != masks.now)


def _sum(values: Iterable[ir.IntegerValue]) -> ir.IntegerValue:
    items = list(values)
    total = items[0]
    for item in items[1:]:
        total = total + item
    return total


def _recorded_from(con: BaseBackend, keys: list[str], day: dt.date) -> bool:
    """Whether anything is recorded for ``day`` or later (a stretch starting or ending then)."""
    t, d = con.table(TABLE), ibis.date(day)
    later = t.filter(t.ledger.isin(keys) & ((t.valid_from >= d) | (t.valid_to >= d))).count()
    return int(con.to_pyarrow(later).as_py()) > 0


def _of_ledgers(keys: Iterable[str]) -> sge.Expression:
    return sg.column("ledger", quoted=True).isin(*(sge.convert(k) for k in keys))


def _day(day: dt.date) -> sge.Expression:
    return sge.cast(sge.convert(day.isoformat()), "date")


def _undo_deleting(keys: list[str], day: dt.date) -> sge.Expression:
    """``DELETE … WHERE ledger IN (…) AND valid_from >= day`` (stretches begun then)."""
    starts_later = sg.column("valid_from", quoted=True) >= _day(day)
    return sge.delete(_table(), where=sge.and_(_of_ledgers(keys), starts_later))


def _undo_reopening(keys: list[str], day: dt.date) -> sge.Expression:
    """``UPDATE … SET valid_to = NULL WHERE ledger IN (…) AND valid_to >= day``."""
    ends_later = sg.column("valid_to", quoted=True) >= _day(day)
    return sge.update(
        _table(), {"valid_to": sge.null()}, where=sge.and_(_of_ledgers(keys), ends_later)
    )


def _close_leavers(moves: str, day: dt.date) -> sge.Expression:
    """``UPDATE membership SET valid_to = day FROM moves v WHERE …`` for the leavers.

    NOTE: an ``UPDATE … FROM`` join; the same ``WHERE EXISTS`` form is ten times slower on
    DuckDB over millions of open stretches.
    """
    matches = [
        sg.column(k, table="v", quoted=True).eq(sg.column(k, table=TABLE, quoted=True))
        for k in ("ledger", "customer_id")
    ]
    update = sge.update(
        _table(),
        {"valid_to": _day(day)},
        where=sge.and_(
            sg.column("valid_to", table=TABLE, quoted=True).is_(sge.null()),
            sge.not_(sg.column("joined", table="v", quoted=True)),
            *matches,
        ),
    )
    update.set("from_", sge.From(this=sg.table(moves, quoted=True).as_("v")))
    return update


def _table() -> sge.Table:
    return sg.table(TABLE, quoted=True)


def changes(membership: ir.Table, start: dt.date, end: dt.date) -> ir.Table:
    """``(day, joined, left)`` for every day in [start, end] with a change, from membership
    stretches ``(customer_id, valid_from, valid_to)`` (e.g. :func:`stretches`)."""
    t = membership
    s, e = ibis.date(start), ibis.date(end)
    joins = t.filter(t.valid_from.between(s, e)).select(day=t.valid_from, joined=1, left=0)
    leaves = t.filter(t.valid_to.between(s, e)).select(day=t.valid_to, joined=0, left=1)
    both = ibis.union(joins, leaves)
    return both.group_by("day").aggregate(joined=both.joined.sum(), left=both.left.sum())


def ledgers(con: BaseBackend) -> set[str]:
    """Every ledger key with rows in the warehouse."""
    if TABLE not in con.list_tables():
        return set()
    keys = con.table(TABLE).select("ledger").distinct()
    return {r["ledger"] for r in con.to_pyarrow(keys).to_pylist()}


def forget(con: BaseBackend, keys: Iterable[str | None]) -> None:
    """Delete the rows of ledgers no segment points to any more (unknown keys are fine)."""
    wanted = [k for k in keys if k]
    if wanted and TABLE in con.list_tables():
        execute(con, sge.delete(_table(), where=_of_ledgers(wanted)))
