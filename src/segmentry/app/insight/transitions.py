"""Segment transitions (docs/insight.md#segment-transitions): how the customers of a group of
segments moved between two days — the matrix, the members behind each flow, and each segment's
metric deltas.

A group is a named one (:data:`GROUPS`: the starter templates' lifecycle stages, the eleven RFM
groups) or any saved segments in the order given. A saved segment's members on a day are read
from its membership history (never re-evaluated): the history covers every day from the store's
first day through the last run, so a later day is refused. The RFM group is no saved segment:
its eleven conditions are evaluated on each day in one query (see
:mod:`segmentry.analytics.rfm_grid` for which source it reads).

A customer in several segments of the group is counted in the first of them in the group's
order (:mod:`segmentry.analytics.transitions`).

>>> # with open_context(folder) as ctx: transitions(ctx, dt.date(2026, 6, 30),
>>> #     dt.date(2026, 11, 30), group="lifecycle").cells
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd
import pyarrow as pa

from segmentry import language
from segmentry.analytics import transitions as flows_of
from segmentry.analytics.asof import Facts
from segmentry.analytics.compiler import evaluate_many
from segmentry.analytics.membership import members_as_of
from segmentry.app.insight.rfm_grid import rfm_source
from segmentry.app.segments import SegmentBook
from segmentry.core.context import Context
from segmentry.core.errors import SegmentError
from segmentry.engine import Scratch
from segmentry.language.catalog import RFM_GROUPS
from segmentry.store.segment_records import Segment

__all__ = ["GROUPS", "NONE_KEY", "Cell", "MetricDelta", "Place", "Transitions", "flow_members",
           "transitions"]

# Named groups. NOTE: the order is the priority of a customer in several of them: the lapsed
# before the loyal before the repeat customers (loyal and lapsed customers are repeat customers
# too), so each stage holds those for whom it is the most telling.
GROUPS: dict[str, tuple[str, ...]] = {
    "lifecycle": ("lapsed", "loyal", "repeat-customers", "first-time-customers"),
    "rfm": tuple(g.lower() for g in RFM_GROUPS),
}
# The key of the "none of these" row and column.
NONE_KEY = "none"
# Metrics compared between the two days (as stored per day); revenue and orders are summed
# over the days after the first up to the second.
_LEVELS = ("customers", "repeat_rate", "ltv", "aov", "avg_orders", "purchase_interval")
_SUMS = ("revenue", "orders")


@dataclass(frozen=True)
class Place:
    """A row/column of the matrix: a segment of the group (or :data:`NONE_KEY`)."""

    key: str
    label: str
    before: int = 0  # customers placed here on the first day
    after: int = 0  # … on the second day


@dataclass(frozen=True)
class Cell:
    from_key: str
    to_key: str
    customers: int


@dataclass(frozen=True)
class MetricDelta:
    """A segment's metric on both days (Decimal or None) and the change (None if either is)."""

    segment: str
    metric: str
    before: Decimal | None
    after: Decimal | None

    @property
    def change(self) -> Decimal | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass
class Transitions:
    start: dt.date
    end: dt.date
    group: str | None
    places: list[Place]  # the group's segments in order, then NONE_KEY
    cells: list[Cell]  # non-empty cells, by row then column
    overlaps: tuple[int, int]  # customers in 2+ of the group's segments on each day
    deltas: list[MetricDelta] = field(default_factory=list)
    rfm_source: str | None = None  # for the RFM group: the attribute read

    def count(self, from_key: str, to_key: str) -> int:
        return next((c.customers for c in self.cells
                     if c.from_key == from_key and c.to_key == to_key), 0)

    def matrix(self) -> list[list[int]]:
        """Counts by row (from, the places' order) and column (to); [none][none] is 0."""
        keys = [p.key for p in self.places]
        return [[self.count(a, b) for b in keys] for a in keys]

    def as_json(self) -> dict[str, Any]:
        """The result as JSON-ready values (the CLI's ``--format json``, the web's API)."""
        return {
            "start": self.start.isoformat(), "end": self.end.isoformat(), "group": self.group,
            "rfm_source": self.rfm_source, "rule": "first_in_group_order",
            "places": [{"key": p.key, "label": p.label, "before": p.before, "after": p.after}
                       for p in self.places],
            "matrix": self.matrix(),
            "flows": [{"from": c.from_key, "to": c.to_key, "customers": c.customers}
                      for c in self.cells],
            "overlaps": {"start": self.overlaps[0], "end": self.overlaps[1]},
            "deltas": [{"segment": d.segment, "metric": d.metric, "before": _text(d.before),
                        "after": _text(d.after), "change": _text(d.change)}
                       for d in self.deltas],
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def _resolve(ctx: Context, group: str | None, segments: Sequence[str] | None
             ) -> tuple[str | None, list[str]]:
    """The group's name (None: picked segments) and its segment keys in order."""
    if group is not None:
        if group not in GROUPS:
            raise SegmentError("Unknown group {group!r}; the groups are {groups}.",
                               code="unknown_group",
                               params={"group": group, "groups": ", ".join(GROUPS)})
        if group == "rfm":
            return group, list(GROUPS[group])
        existing = {s.name for s in SegmentBook(ctx).list()}
        keys = [k for k in GROUPS[group] if k in existing]
        if not keys:
            raise SegmentError(
                "No segment of the group {group!r} exists; add the starter segments ({keys}).",
                code="empty_group", params={"group": group, "keys": ", ".join(GROUPS[group])})
        return group, keys
    keys = list(dict.fromkeys(segments or []))
    if not keys:
        raise SegmentError("Pick at least one segment or a group.", code="no_segments")
    return None, keys


class _Days:
    """The members of a group's segments on a day, as ``(customer_id)`` tables."""

    def __init__(self, ctx: Context, group: str | None, keys: list[str],
                 scratch: Scratch, start: dt.date, rfm: str = "auto") -> None:
        self.ctx, self.group, self.keys, self.scratch = ctx, group, keys, scratch
        self.book = SegmentBook(ctx)
        self.saved: list[Segment] = []
        self.source: str | None = None
        self._wide: ir.Table | None = None
        if group == "rfm":
            self.source = rfm_source(ctx, rfm, start)
        else:
            self.saved = [self._computed(k) for k in keys]

    def _computed(self, key: str) -> Segment:
        segment = self.book.get(key)
        if segment.membership_key is None or segment.computed_through is None:
            raise SegmentError("Segment {name!r} has not been computed yet.",
                               code="not_computed", params={"name": key})
        return segment

    def check(self, day: dt.date) -> None:
        for s in self.saved:
            assert s.computed_through is not None
            if day > s.computed_through:
                raise SegmentError(
                    "Segment {name!r} is computed through {through}; {day} is in the future "
                    "for it.", code="not_computed",
                    params={"name": s.name, "through": s.computed_through, "day": day})

    def members(self, day: dt.date, days: Sequence[dt.date]) -> list[ir.Table]:
        """Each segment's ``(customer_id)`` on ``day`` (one of ``days``, all asked for)."""
        con = self.ctx.warehouse
        if self.source is not None:
            wide = self._groups(tuple(days))
            return [wide.filter(wide[f"m{i}"] & (wide.day == ibis.date(day)))
                    .select("customer_id") for i in range(len(RFM_GROUPS))]
        # NOTE: the history starts on the store's first day; before it nobody was a member.
        return [members_as_of(con, s.membership_key, day) for s in self.saved
                if s.membership_key is not None]

    def _groups(self, days: tuple[dt.date, ...]) -> ir.Table:
        """The RFM groups of every customer on every one of ``days``, evaluated once."""
        if self._wide is None:
            con = self.ctx.warehouse
            conditions = [language.validate(f"{self.source} = '{g}'") for g in RFM_GROUPS]
            facts = Facts.of(con)
            wanted = ibis.memtable({"day": sorted(set(days))}, schema={"day": "date"})
            points = facts.customers.select("customer_id").cross_join(wanted)
            self._wide = con.table(self.scratch.keep(evaluate_many(facts, points, conditions)))
        return self._wide

    def label(self, i: int) -> str:
        return RFM_GROUPS[i] if self.source is not None else self.saved[i].display_name


@contextmanager
def _places(ctx: Context, start: dt.date, end: dt.date, group: str | None,
            segments: Sequence[str] | None, rfm: str) -> Iterator[tuple[_Days, ir.Table, ir.Table,
                                                              tuple[int, int]]]:
    """The group's days and each customer's place on ``start`` and ``end`` (temporary
    tables)."""
    if end < start:
        raise SegmentError("The second day {end} is before the first {start}.",
                           code="bad_range", params={"start": start, "end": end})
    group, keys = _resolve(ctx, group, segments)
    con = ctx.warehouse
    with Scratch(con) as scratch:
        days = _Days(ctx, group, keys, scratch, start, rfm)
        days.check(end)
        placed, overlaps = [], []
        for day in (start, end):
            members = days.members(day, (start, end))
            placed.append(con.table(scratch.keep(flows_of.places_on(members))))
            overlaps.append(int(con.execute(flows_of.overlaps(members))))
        yield days, placed[0], placed[1], (overlaps[0], overlaps[1])


def transitions(ctx: Context, start: dt.date, end: dt.date, *, group: str | None = None,
                segments: Sequence[str] | None = None, rfm: str = "auto") -> Transitions:
    """The transition matrix of a group (``group``: a name of :data:`GROUPS`) or of picked
    ``segments`` (keys, in priority order) from ``start`` to ``end``, with metric deltas.
    ``rfm``: which RFM groups the ``rfm`` group reads (``auto``, ``shopify``, ``rules``; see
    :func:`~segmentry.app.insight.rfm_grid.rfm_source`)."""
    with _places(ctx, start, end, group, segments, rfm) as (days, before, after, overlaps):
        frame = ctx.warehouse.execute(flows_of.flows(before, after))
        keys = days.keys
        key_of = {i: k for i, k in enumerate(keys)} | {flows_of.NONE: NONE_KEY}
        cells = sorted(
            (Cell(key_of[int(r.from_place)], key_of[int(r.to_place)], int(r.customers))
             for r in frame.itertuples()),
            key=lambda c: (_order(keys, c.from_key), _order(keys, c.to_key)),
        )
        labels = [days.label(i) for i in range(len(keys))]
        result = Transitions(start, end, days.group, [], cells, overlaps,
                             rfm_source=days.source)
        for key, label in [*zip(keys, labels, strict=True), (NONE_KEY, "")]:
            result.places.append(Place(
                key, label,
                before=sum(c.customers for c in cells if c.from_key == key),
                after=sum(c.customers for c in cells if c.to_key == key)))
        if days.source is None:
            result.deltas = _deltas(days.book, keys, start, end)
        return result


def _order(keys: list[str], key: str) -> int:
    return keys.index(key) if key in keys else len(keys)


def flow_members(ctx: Context, start: dt.date, end: dt.date, from_key: str, to_key: str, *,
                 group: str | None = None, segments: Sequence[str] | None = None,
                 rfm: str = "auto") -> pa.Table:
    """The customers behind one flow (``from_key`` → ``to_key``; :data:`NONE_KEY` for none),
    by customer id, with their e-mail and names."""
    with _places(ctx, start, end, group, segments, rfm) as (days, before, after, _):
        places = {k: i for i, k in enumerate(days.keys)} | {NONE_KEY: flows_of.NONE}
        for key in (from_key, to_key):
            if key not in places:
                raise SegmentError(
                    "{key!r} is not in the group ({keys}).", code="not_in_group",
                    params={"key": key, "keys": ", ".join([*days.keys, NONE_KEY])})
        cell = flows_of.flow_members(before, after, places[from_key], places[to_key])
        customers = ctx.warehouse.table("customers").select(
            "customer_id", "email", "first_name", "last_name")
        rows = cell.left_join(customers, "customer_id").select(
            "customer_id", "email", "first_name", "last_name").order_by("customer_id")
        found: pa.Table = ctx.warehouse.to_pyarrow(rows)
        return found


def _deltas(book: SegmentBook, keys: list[str], start: dt.date, end: dt.date
            ) -> list[MetricDelta]:
    """Each saved segment's stored daily metrics on both days, and the sums in between."""
    result = []
    for key in keys:
        frame = book.metrics(key)
        if frame.empty:
            continue
        by_day = {_date(d): row for d, row in zip(frame["day"], frame.to_dict("records"),
                                                   strict=True)}
        first, last = by_day.get(start, {}), by_day.get(end, {})
        for metric in _LEVELS:
            result.append(MetricDelta(key, metric, _dec(first.get(metric)),
                                      _dec(last.get(metric))))
        between = [row for d, row in by_day.items() if start < d <= end]
        for metric in _SUMS:
            total = sum((_dec(r.get(metric)) or Decimal(0) for r in between), Decimal(0))
            result.append(MetricDelta(key, f"{metric}_between", None, total))
    return result


def _date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) \
        else pd.Timestamp(value).date()


def _dec(value: Any) -> Decimal | None:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    return Decimal(str(value))

