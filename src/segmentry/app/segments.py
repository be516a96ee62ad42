"""Segment definitions, versions and their computed history.

Adding or editing a segment computes its full daily membership history and metrics at once
(as-of evaluation over change points, see :mod:`segmentry.analytics.evaluation`). Every change is
all or
nothing: the new membership is written under a fresh membership key first, then the segment row (an
added one), its version, the pointer and the metric rows are saved in ONE state-store
transaction, then the replaced rows are deleted. Readers never see a half-written segment; a
process killed before that commit leaves the previous state whole (an added segment does not
exist, and adding it again works), and the rows it wrote are deleted at the start of the next
write (:meth:`SegmentBook.forget_unclaimed`). :meth:`SegmentBook.recompute` does the same for an
unchanged definition (after data arrived late).

Renaming a segment's key (:meth:`SegmentBook.rename`) changes no membership: the membership,
metrics and folders are kept by the segment's id; the references in other segments' queries and
the rows other parts keep by key move in one state-store transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from segmentry import language
from segmentry.analytics.evaluation import (
    Snapshot,
    compiled_sql,
    members_on,
    membership_history,
)
from segmentry.analytics.exports import member_rows
from segmentry.analytics.facts import store_started_on
from segmentry.analytics.membership import (
    changes,
    forget,
    members_as_of,
    membership_key,
    stretches,
    write_history,
)
from segmentry.analytics.metrics import daily_metrics
from segmentry.app.context import current_day
from segmentry.app.protected import refuse_withheld
from segmentry.app.segment_names import (
    SegmentNames,
    check_display_name_free,
    check_key,
    clean_display_name,
    segment_names,
)
from segmentry.core.clock import utcnow
from segmentry.core.crash_points import crash_point
from segmentry.core.errors import QueryError, SegmentError
from segmentry.engine import Scratch
from segmentry.language import ast
from segmentry.language.suggest import closest
from segmentry.store import segment_records as records
from segmentry.store import sync_marks
from segmentry.store.schema import METRIC_TEXT_COLUMNS
from segmentry.store.segment_records import Segment

_Rows = list[dict[str, Any]]  # NOTE: inside SegmentBook, `list` is its method

if TYPE_CHECKING:
    import ibis.expr.types as ir
    from ibis.backends import BaseBackend

    from segmentry.core.context import Context, Progress

__all__ = ["Segment", "SegmentBook", "referenced_segments", "renamed_reference"]


def referenced_segments(condition: ast.Condition) -> set[str]:
    """Names used in ``segments CONTAINS 'name'`` anywhere in an *unresolved* condition.

    >>> sorted(referenced_segments(
    ...     language.parse("segments CONTAINS 'a' OR NOT segments CONTAINS 'b'")))
    ['a', 'b']
    """
    found: set[str] = set()
    if isinstance(condition, ast.Contains) and condition.attribute == "segments":
        if isinstance(condition.value, ast.StringValue):
            found.add(condition.value.value)
    elif isinstance(condition, ast.And | ast.Or):
        for item in condition.items:
            found |= referenced_segments(item)
    elif isinstance(condition, ast.Not):
        found |= referenced_segments(condition.item)
    return found


def renamed_reference(condition: ast.Condition, old: str, new: str) -> ast.Condition:
    """``condition`` with every ``segments CONTAINS 'old'`` reading ``'new'`` (the inverse walk
    of :func:`referenced_segments`; everything else is kept as it is).

    >>> c = language.parse("segments CONTAINS 'a' AND NOT (segments CONTAINS 'b' OR x = 'a')")
    >>> language.to_text(renamed_reference(c, "a", "z"))
    "segments CONTAINS 'z' AND NOT (segments CONTAINS 'b' OR x = 'a')"
    """
    if isinstance(condition, ast.Contains) and condition.attribute == "segments":
        value = condition.value
        if isinstance(value, ast.StringValue) and value.value == old:
            return dataclasses.replace(condition, value=dataclasses.replace(value, value=new))
    elif isinstance(condition, ast.And | ast.Or):
        items = tuple(renamed_reference(item, old, new) for item in condition.items)
        return dataclasses.replace(condition, items=items)
    elif isinstance(condition, ast.Not):
        return dataclasses.replace(condition, item=renamed_reference(condition.item, old, new))
    return condition


@dataclass(frozen=True)
class _History:
    """A segment version's computed history: its membership rows under ``membership_key`` (which no
    segment points to yet) and its metric rows (not saved yet)."""

    name: str  # the segment's, for progress reports
    membership_key: str
    start: dt.date
    end: dt.date
    metrics: pd.DataFrame

    def pointer(self) -> dict[str, Any]:
        """The segment columns that point to it."""
        return {"membership_key": self.membership_key, "computed_through": self.end,
                "history_start": self.start}


# NOTE: inside SegmentBook, `list` is its method
_Recomputed = list[tuple[Segment, _History]]
_Segments = list[Segment]


class SegmentBook:
    """The segment service: operations on a workspace's segments, given its
    :class:`~segmentry.core.context.Context` (the Workspace facade and the services above the
    app layer use it)."""

    def __init__(self, workspace: Context) -> None:
        self.ws = workspace
        # What Shopify withholds, read once per book (a run validates every segment).
        self._withheld: frozenset[str] | None = None

    # ------------------------------------------------------------ reading definitions

    def list(self) -> list[Segment]:
        with self.ws.state.connect() as conn:
            return records.all_segments(conn)

    def get(self, name: str) -> Segment:
        """The segment whose key is ``name``, else the one whose display name is ``name``."""
        with self.ws.state.connect() as conn:
            found = records.by_key(conn, name) or records.by_display_name(conn, name.strip())
        if found is None:
            self._refuse_former_key(name)
            segments = self.list()
            known = [x.name for x in segments] + [x.display_name for x in segments]

            guess = closest(name, known)
            raise SegmentError(
                "There is no segment named {name!r}.",
                code="unknown_segment",
                hint="Did you mean {guess!r}?" if guess else None,
                params={"name": name, "guess": guess},
            )
        return found

    def _refuse_former_key(self, name: str) -> None:
        """Raise for a key a segment had before it was renamed, naming the key it has now."""
        with self.ws.state.connect() as conn:
            now = records.key_now(conn, name)
        if now is not None:
            raise SegmentError(
                "Segment {name!r} has a new key: {key!r}.",
                code="renamed_segment",
                params={"name": name, "key": now},
            )

    def _query_of(self, name: str) -> str | None:
        try:
            segment = self.get(name)
        except SegmentError:
            return None
        # A reference names the key (a display name would hide it from _dependants).
        return segment.query if segment.name == name else None

    def validate(self, query: str) -> ast.Condition:
        """Parse and resolve ``query`` against the catalog and the defined segments; refused
        when it reads customer data Shopify withholds (:mod:`segmentry.app.protected`)."""
        return self._allowed(language.validate(query, segments=self._query_of))

    def _allowed(self, condition: ast.Condition) -> ast.Condition:
        if self._withheld is None:
            self._withheld = sync_marks.withheld(self.ws.state)
        refuse_withheld(condition, self._withheld)
        return condition

    # ------------------------------------------------------------ changing definitions

    def add(
        self,
        name: str | None,
        query: str,
        description: str,
        progress: Progress | None,
        *,
        key: str | None = None,
        display_name: str | None = None,
    ) -> Segment:
        """Define a segment, all or nothing: its history is computed under a new membership key
        first, then the segment, its version and its metric rows are saved in one state-store
        transaction. Killed before that commit, the segment does not exist."""
        self.forget_unclaimed()
        names = self._new_names(name, key, display_name)
        history = self._compute(None, self.validate(query), names.key, progress)
        now = utcnow()
        with self._switching([history], [], progress) as conn:
            segment_id = records.insert(
                conn, names.key, names.display_name, description.strip(), query, now,
                **history.pointer(),
            )
            replace_metric_rows(conn, segment_id, history.metrics, delete_all=True)
        return self.get(names.key)

    def edit(
        self,
        name: str,
        query: str | None,
        progress: Progress | None,
        *,
        description: str | None = None,
        display_name: str | None = None,
        key: str | None = None,
    ) -> Segment:
        """Change a segment, all or nothing: a new query's history (and that of every segment
        referring to it) is computed first; the new version, the new key, the labels and the
        switch to the new histories are then saved in one state-store transaction."""
        self.forget_unclaimed()
        old, changes, new_key = self._planned_edit(name, query, description, display_name, key)
        name = old.name
        recomputed: _Recomputed = []
        if query is not None and query != old.query:
            recomputed = self._compute_with(old, query, progress)
        now = utcnow()
        replaced = [segment.membership_key for segment, _ in recomputed]
        with self._switching([h for _, h in recomputed], replaced, progress) as conn:
            if recomputed:
                assert query is not None
                records.add_version(conn, old.id, old.version + 1, query, now)
                changes |= {"version": old.version + 1, "updated_at": now}
            for segment, history in recomputed:
                _point_to(conn, segment.id, history)
            if changes:
                records.update(conn, old.id, {"updated_at": now} | changes)
            if new_key is not None:
                _rename_rows(conn, old, new_key, now)
        return self.get(new_key or name)

    def check_add(
        self, name: str | None, query: str, *, key: str | None = None,
        display_name: str | None = None,
    ) -> str:
        """Raise what :meth:`add` would refuse (a name or key taken or malformed, a query that
        does not validate) without computing anything; the new segment's key. A caller that
        runs the add in the background (the web app) answers these errors at once."""
        names = self._new_names(name, key, display_name)
        self.validate(query)
        return names.key

    def check_edit(
        self, name: str, query: str | None, *, description: str | None = None,
        display_name: str | None = None, key: str | None = None,
    ) -> str:
        """Raise what :meth:`edit` would refuse (an unknown segment, a query that does not
        validate or refers back to it, a name or key taken or malformed) without computing
        anything; the key the segment has after the edit."""
        old, _, new_key = self._planned_edit(name, query, description, display_name, key)
        return new_key or old.name

    def _new_names(self, name: str | None, key: str | None,
                   display_name: str | None) -> SegmentNames:
        existing = self.list()
        return segment_names(
            name, key, display_name,
            {s.name for s in existing}, {s.display_name for s in existing},
        )

    def _planned_edit(
        self, name: str, query: str | None, description: str | None,
        display_name: str | None, key: str | None,
    ) -> tuple[Segment, dict[str, Any], str | None]:
        """The segment, its checked label changes and its checked new key (None: unchanged);
        a new query is validated too."""
        old = self.get(name)
        if query is not None:
            # Resolving with the new text standing for the segment reports a cycle through it.
            self._allowed(language.validate(
                query, segments=lambda n: query if n == old.name else self._query_of(n)))
        changes = self._label_changes(old, description, display_name)
        new_key = self._free_key(old, key) if key is not None else None
        return old, changes, new_key

    def _compute_with(
        self, segment: Segment, query: str, progress: Progress | None
    ) -> _Recomputed:
        """The histories of ``segment`` defined by ``query`` and of every segment referring to
        it, directly or through others (not saved)."""
        def lookup(n: str) -> str | None:
            return query if n == segment.name else self._query_of(n)

        computed: _Recomputed = []
        try:
            for item in [segment, *self._all_dependants(segment.name)]:
                text = query if item.id == segment.id else item.query
                condition = self._allowed(language.validate(text, segments=lookup))
                computed.append((item, self._compute(item.id, condition, item.name, progress)))
        except BaseException:
            self._forget([h.membership_key for _, h in computed])
            raise
        return computed

    def _label_changes(
        self, old: Segment, description: str | None, display_name: str | None
    ) -> dict[str, Any]:
        """The checked new description and display name (neither changes the membership)."""
        values: dict[str, Any] = {}
        if description is not None and description.strip() != old.description:
            values["description"] = description.strip()
        if display_name is not None:
            shown = clean_display_name(display_name)
            if shown != old.display_name:
                check_display_name_free(
                    shown, {s.display_name for s in self.list() if s.id != old.id})
                values["display_name"] = shown
        return values

    def rename(self, name: str, key: str) -> Segment:
        """Give a segment a new key, in one state-store transaction: its row, the queries of the
        segments that refer to it (rewritten through the AST, every version), the rows other
        parts keep by key (Shopify tag bindings, managed tags, sync jobs, audit log) and the
        old key remembered (see :meth:`_refuse_former_key`). Membership, metrics and folders
        are kept by the segment's id and do not move; the Shopify tag is not renamed."""
        segment = self.get(name)
        new = self._free_key(segment, key)
        if new is None:
            return segment
        with self.ws.state.begin() as conn:
            _rename_rows(conn, segment, new, utcnow())
        return self.get(new)

    def _free_key(self, segment: Segment, key: str) -> str | None:
        """``key`` checked as the segment's new key; ``None`` when it is its key already."""
        new = check_key(key.strip())
        if new == segment.name:
            return None
        if any(s.name == new for s in self.list()):
            raise SegmentError(
                "A segment with the key {key!r} already exists.",
                code="duplicate_segment",
                params={"key": new},
                hint="Choose another key, or change that segment instead.",
            )
        return new

    def remove(self, name: str) -> None:
        segment = self.get(name)
        name = segment.name
        users = self._dependants(name)
        if users:
            raise SegmentError(
                "Segment {name!r} is used by {users}.",
                code="segment_in_use",
                params={"name": name, "users": ", ".join(sorted(users))},
                hint="Edit or remove those segments first.",
            )
        with self.ws.state.begin() as conn:
            records.delete(conn, segment.id)
            records.unclaim(conn, [segment.membership_key], utcnow())
        self._forget([segment.membership_key])

    def _dependants(self, name: str) -> set[str]:
        return {
            s.name
            for s in self.list()
            if s.name != name and name in referenced_segments(language.parse(s.query))
        }

    def _all_dependants(self, name: str) -> _Segments:
        """The segments referring to ``name`` directly or through others (their membership
        changes with its definition: references are resolved by the query, not the membership)."""
        segments = {s.name: s for s in self.list()}
        found: dict[str, Segment] = {}
        todo = [name]
        while todo:
            for user in sorted(self._dependants(todo.pop())):
                if user not in found and user != name:
                    found[user] = segments[user]
                    todo.append(user)
        return list(found.values())

    # ------------------------------------------------------------ computing

    def recompute(self, name: str, progress: Progress | None = None) -> None:
        """Compute the full daily history of a segment and switch to it atomically."""
        self.forget_unclaimed()
        segment = self.get(name)
        history = self._compute(segment.id, self.validate(segment.query), name, progress)
        with self._switching([history], [segment.membership_key], progress) as conn:
            _point_to(conn, segment.id, history)

    def _compute(
        self,
        segment_id: int | None,
        condition: ast.Condition,
        name: str,
        progress: Progress | None,
    ) -> _History:
        """A segment version's full daily history and metrics, its membership written under a
        new membership key (listed as unclaimed first, so a kill leaves no rows nobody can find)."""

        con = self.ws.warehouse
        start, end = self._history_range()
        tag = _tag()
        key = membership_key(segment_id, tag)
        with self.ws.state.begin() as conn:
            records.unclaim(conn, [key], utcnow())
        crash_point("segment-history-started")
        try:
            if progress:
                progress(f"history of {name}", 0, 3)
            write_history(con, segment_id, membership_history(con, condition, start, end), tag=tag)
            crash_point("segment-history-written")
            if progress:
                progress(f"history of {name}", 1, 3)
            frame = daily_metrics(con, stretches(con, key), start, end)
            if progress:
                progress(f"history of {name}", 2, 3)
        except BaseException:
            self._forget([key])
            raise
        return _History(name, key, start, end, frame)

    @contextmanager
    def _switching(
        self,
        histories: Iterable[_History],
        replaced: Iterable[str | None],
        progress: Progress | None = None,
    ) -> Iterator[sa.Connection]:
        """The state-store transaction that points segments to the new ``histories`` (the
        caller's statements, then the new keys claimed and the ``replaced`` ones unclaimed);
        after its commit the replaced rows are deleted, after a failure the new ones."""
        computed = list(histories)
        new = [h.membership_key for h in computed]
        old = [key for key in replaced if key]
        try:
            with self.ws.state.begin() as conn:
                yield conn
                records.claim(conn, new)
                records.unclaim(conn, old, utcnow())
                crash_point("segment-switch-before-commit")
        except BaseException:
            self._forget(new)
            raise
        crash_point("segment-switch-committed")
        self._forget(old)
        for history in computed:
            if progress:
                progress(f"history of {history.name}", 3, 3)

    def forget_unclaimed(self) -> None:
        """Delete the membership rows of membership keys no segment points to: those a killed add,
        edit, recompute or removal left behind. Cheap: a look at a short list in the state store
        (empty unless a process was killed), then one delete per warehouse.

        NOTE: only under the workspace lock, at the start of a write: a key being computed is
        unclaimed too, and the lock keeps every other writer out.
        """
        with self.ws.state.connect() as conn:
            keys = records.unclaimed_keys(conn)
        self._forget(keys)

    def _forget(self, keys: Iterable[str | None]) -> None:
        """Delete the rows of membership keys no segment points to, then their unclaimed entries."""

        wanted = [key for key in keys if key]
        if not wanted:
            return
        forget(self.ws.warehouse, wanted)
        with self.ws.state.begin() as conn:
            records.claim(conn, wanted)

    def _history_range(self) -> tuple[dt.date, dt.date]:
        """From the store's first day (the first order or customer creation) to the current
        day."""

        end = current_day(self.ws)
        start = store_started_on(self.ws.warehouse) or end
        return min(start, end), end

    # ------------------------------------------------------------ reading results

    def members(
        self, name: str, as_of: dt.date | None, *, search: str = "", limit: int | None = None,
        offset: int = 0,
    ) -> pa.Table:
        """Members on a day (default: the last computed day) with their email and names, by
        customer id; only those whose id, email or name contains ``search`` (any case), and a
        page of them with ``limit`` and ``offset``."""
        members = self._member_table(name, as_of, search).order_by("customer_id")
        if limit is not None:
            members = members.limit(limit, offset=offset)
        result: pa.Table = self.ws.warehouse.to_pyarrow(members)
        return result

    def member_count(self, name: str, as_of: dt.date | None, *, search: str = "") -> int:
        """How many :meth:`members` there are on the day (matching ``search``)."""
        return int(self.ws.warehouse.execute(self._member_table(name, as_of, search).count()))

    def _member_table(self, name: str, as_of: dt.date | None, search: str) -> ir.Table:
        segment = self._computed(name)
        day = self._day_of(segment, as_of)
        assert segment.membership_key is not None
        members = _with_names(self.ws.warehouse, members_as_of(self.ws.warehouse,
                                                                segment.membership_key, day))
        if search:
            needle = search.lower()
            members = members.filter(
                members.customer_id.lower().contains(needle)
                | members.email.lower().contains(needle).fill_null(False)
                | members.first_name.lower().contains(needle).fill_null(False)
                | members.last_name.lower().contains(needle).fill_null(False)
            )
        return members

    def preview(
        self, query: str, day: dt.date, *, snapshot: Snapshot | None = None, sample: int = 10
    ) -> tuple[int, _Rows]:
        """Validate ``query``, then count its members on ``day`` and give the first ``sample``
        of them by customer id (with email and names), before any segment is saved. Pass an
        open :class:`~segmentry.analytics.evaluation.Snapshot` of ``day`` when counting many
        queries (the builder's live count): each then only evaluates its own condition."""
        condition = self.validate(query)
        con = self.ws.warehouse
        # NOTE: kept in a temporary table so the count and the sample read one evaluation.
        with Scratch(con) as scratch:
            members = con.table(
                scratch.keep(members_on(con, condition, day, snapshot), prefix="_preview")
            )
            count = int(con.execute(members.count()))
            first = _with_names(con, members).order_by("customer_id").limit(sample)
            rows: _Rows = con.to_pyarrow(first).to_pylist()
        return count, rows

    def member_details(
        self, name: str, as_of: dt.date | None
    ) -> tuple[_Rows, dt.date]:
        """Members on a day with contact details and order figures
        (:mod:`segmentry.analytics.exports`)."""

        segment = self._computed(name)
        day = self._day_of(segment, as_of)
        assert segment.membership_key is not None
        return member_rows(self.ws.warehouse, segment.membership_key, day), day

    def _day_of(self, segment: Segment, as_of: dt.date | None) -> dt.date:
        """``as_of`` (default: the last computed day), refused after the computed history."""
        name = segment.name
        day = as_of or segment.computed_through
        assert day is not None and segment.computed_through is not None
        if day > segment.computed_through:
            raise SegmentError(
                "Segment {name!r} is computed through {through}; {day} is in the future for it.",
                code="not_computed",
                params={"name": name, "through": segment.computed_through, "day": day},
            )
        return day

    def history(self, name: str) -> pd.DataFrame:
        segment = self._computed(name)
        assert segment.history_start and segment.computed_through and segment.membership_key
        frame = self.ws.warehouse.execute(
            changes(
                stretches(self.ws.warehouse, segment.membership_key),
                segment.history_start,
                segment.computed_through,
            )
        )
        frame = frame.sort_values("day").reset_index(drop=True)
        frame["day"] = [_as_date(d) for d in frame["day"]]  # dates, as in metrics()
        return frame

    def metrics(self, name: str) -> pd.DataFrame:
        segment = self._computed(name)
        with self.ws.state.connect() as conn:
            frame = pd.DataFrame(records.metric_rows(conn, segment.id))
        if frame.empty:
            return frame
        for column in METRIC_TEXT_COLUMNS:
            frame[column] = pd.Series(
                [None if pd.isna(v) else Decimal(v) for v in frame[column]], dtype=object
            )
        return frame.drop(columns=["segment_id"])

    def explain(self, name: str) -> str:
        segment = self.get(name)
        condition = self.validate(segment.query)
        day = segment.computed_through or current_day(self.ws)
        return compiled_sql(self.ws.warehouse, condition, day)

    def _computed(self, name: str) -> Segment:
        segment = self.get(name)
        if segment.membership_key is None or segment.computed_through is None:
            raise SegmentError(
                "Segment {name!r} has not been computed yet.",
                code="not_computed",
                params={"name": name},
            )
        return segment


def _with_names(con: BaseBackend, members: ir.Table) -> ir.Table:
    """``(customer_id)`` rows with each customer's email and names (None when unknown)."""
    customers = con.table("customers").select("customer_id", "email", "first_name", "last_name")
    joined = members.select("customer_id").left_join(customers, "customer_id")
    return joined.select("customer_id", "email", "first_name", "last_name")


def _point_to(conn: sa.Connection, segment_id: int, history: _History) -> None:
    """Point a segment to a computed history and replace its metric rows with its own."""
    records.update(conn, segment_id, history.pointer())
    replace_metric_rows(conn, segment_id, history.metrics, delete_all=True)


def _rename_rows(conn: sa.Connection, segment: Segment, new: str, now: dt.datetime) -> None:
    """The statements of :meth:`SegmentBook.rename`."""
    records.rename_key(conn, segment.id, segment.name, new, now)
    _rewrite_references(conn, segment.name, new, now)


def _rewrite_references(conn: sa.Connection, old: str, new: str, now: dt.datetime) -> None:
    """Make every stored query (every version) that names segment ``old`` name ``new``; the
    rest of each query keeps its meaning (printed back from the rewritten AST). A changed
    segment's ``updated_at`` moves (readers key their caches on it)."""
    changed = set()
    for segment_id, version, query in records.versions(conn):
        try:
            condition = language.parse(query)
        except QueryError:  # NOTE: a version that no longer parses (an older grammar) stays
            continue
        if old not in referenced_segments(condition):
            continue
        text = language.to_text(renamed_reference(condition, old, new))
        records.set_version_query(conn, segment_id, version, text)
        changed.add(segment_id)
    records.touch(conn, changed, now)


def replace_metric_rows(
    conn: sa.Connection, segment_id: int, frame: pd.DataFrame, *, delete_all: bool
) -> None:
    """Write metric rows (one per day) for a segment, replacing the same days (or all)."""
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {"day": _as_date(record["day"])}
        for column in ("customers", "orders", "joined", "left"):
            row[column] = int(record[column])
        for column in METRIC_TEXT_COLUMNS:
            value = record[column]
            row[column] = None if value is None or pd.isna(value) else str(value)
        rows.append(row)
    records.replace_metrics(conn, segment_id, rows, delete_all=delete_all)


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _as_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return pd.Timestamp(value).date()

