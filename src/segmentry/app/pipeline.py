"""The daily pipeline: ingest → facts → models → segments → metrics → commit.

``segmentry run`` for a day D:

1. **ingest** every configured source (upsert: re-reading a file changes nothing);
2. **facts**: bring ``order_facts`` / ``line_facts`` up to date with the ledger (only the
   customers whose orders changed);
3. **models**: work registered to run before the segments (``segmentry_before_segments``):
   the predictive models refit when due (:mod:`segmentry.app.insight.predictive`);
4. **segments**: evaluate every segment as of D (all in one query over the day's snapshot) and
   record the day for all of them in the membership ledger, in one warehouse transaction
   (segments never computed get their full history; a gap of missed days is filled day by
   day);
5. **metrics** for the new day(s) (all segments in two queries in the usual one-day case);
6. **commit**: move every segment's ``computed_through`` to D and write the metric rows and the
   run record in one state-store transaction.

Running twice for the same day changes nothing: recording a day first undoes what was recorded
for it. The workspace lock keeps a second run out. A failure before step 5 leaves the previous
day's state as it was: a day recorded in a ledger but not committed reads as not computed yet
(every read goes through ``computed_through``) and is recorded again by the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from segmentry.analytics.asof import Facts
from segmentry.analytics.compiler import evaluate_many
from segmentry.analytics.evaluation import Snapshot
from segmentry.analytics.facts import build_facts
from segmentry.analytics.membership import record_day, stretches
from segmentry.analytics.metrics import METRIC_COLUMNS, daily_metrics, metrics_of_all_on_day
from segmentry.app import plugins
from segmentry.app.erasure import finish_erasures
from segmentry.app.plugins import RunOutcome
from segmentry.app.protected import withheld_note
from segmentry.app.segments import SegmentBook, replace_metric_rows
from segmentry.core.errors import RunError, SegmentError, SegmentryError, error_record
from segmentry.engine import transaction
from segmentry.ledger.store import write_batch
from segmentry.store import runs, segment_records, sync_marks

if TYPE_CHECKING:
    from segmentry.app.segments import Segment
    from segmentry.core.context import Context, Progress

__all__ = ["Pipeline", "RunReport", "StageReport"]


@dataclass
class StageReport:
    stage: str
    seconds: float
    status: str = "succeeded"
    detail: str = ""


@dataclass
class RunReport:
    run_id: int
    day: dt.date
    status: str
    stages: list[StageReport] = field(default_factory=list)
    joined: dict[str, int] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)
    error: str | None = None


@dataclass
class _Pending:
    """A segment's new state, written to the warehouse but not yet switched to."""

    segment: Segment
    membership_key: str
    first_day: dt.date  # the days [first_day, last_day] were (re)evaluated
    last_day: dt.date
    joined: int = 0
    left: int = 0
    metrics: pd.DataFrame | None = None


class Pipeline:
    def __init__(self, workspace: Context) -> None:
        self.ws = workspace

    def run(self, day: dt.date, progress: Progress | None = None) -> RunReport:
        """Run the pipeline for ``day`` under the workspace lock; raise RunError on failure."""
        with self.ws.lock(f"run {day}"):
            SegmentBook(self.ws).forget_unclaimed()  # rows a killed segment change left
            report = RunReport(run_id=self._start_record(day), day=day, status="running")
            pending: list[_Pending] = []
            try:
                self._stage(report, "ingest", self._ingest, progress)
                self._stage(report, "facts", self._facts, progress)
                self._stage(report, "models", lambda: "; ".join(
                    plugins.before_segments(self.ws, day)), progress)
                with contextlib.ExitStack() as stack:
                    # The day's snapshot is built in the segments stage (its time counts there)
                    # and read again by the metrics.
                    snapshots: list[Snapshot] = []

                    def segments() -> str:
                        snapshots.append(stack.enter_context(Snapshot(self.ws.warehouse, day)))
                        return self._segments(day, snapshots[0], pending, progress)

                    self._stage(report, "segments", segments)
                    self._stage(
                        report, "metrics", lambda: self._metrics(snapshots[0], pending, progress)
                    )
                self._stage(report, "commit", lambda: self._commit(report, pending))
                # The commit wrote the run record before its own timing was known.
                self._record_stage(report, report.stages[-1])
            except BaseException as e:
                failure = _run_error(day, e)
                self._fail(report, e, failure)
                if isinstance(e, Exception):
                    raise failure from e
                raise
            self._activate(report)  # destinations: after the commit, never undoing it
            finish_erasures(self.ws)  # no copy of an erased customer's data is left behind
        return report

    def _activate(self, report: RunReport) -> None:
        """Run every destination's after-run action (Shopify tag sync, issue 3), each as one more
        stage of the run; a failure is recorded in its stage (the committed run stands, the other
        destinations and the erasures still run, and the next run resumes the destination's
        work). A plug-in's own bug is caught too: it is not the run's failure."""
        outcome = RunOutcome(report.run_id, report.day, dict(report.joined), dict(report.left))
        for destination in plugins.destinations(self.ws):
            started, status, detail = time.perf_counter(), "succeeded", ""
            try:
                detail = destination.push(outcome)
            except SegmentryError as e:
                status, detail = "failed", str(e)
            except Exception as e:
                status, detail = "failed", repr(e)
            stage = StageReport(destination.stage, time.perf_counter() - started, status, detail)
            report.stages.append(stage)
            self._record_stage(report, stage)

    def _record_stage(self, report: RunReport, stage: StageReport) -> None:
        """Add one stage to a run record written before the stage finished."""
        runs.record_stage(self.ws.state, report.run_id, report.stages.index(stage), stage)

    # ------------------------------------------------------------ stages

    def _stage(
        self, report: RunReport, name: str, work: Any, progress: Progress | None = None
    ) -> None:
        """Run one stage and record its timing; ``progress`` draws a bar for a stage that does
        not report its own steps."""
        started = time.perf_counter()
        if progress:
            progress(name, 0, 1)
        try:
            detail = work()
        except BaseException:
            report.stages.append(StageReport(name, time.perf_counter() - started, "failed"))
            raise
        report.stages.append(StageReport(name, time.perf_counter() - started, detail=detail or ""))
        if progress:
            progress(name, 1, 1)

    def _ingest(self) -> str:
        # Work due first (Shopify's queued webhooks: a run never misses a received delivery).
        notes = plugins.before_ingest(self.ws)
        sources = self.ws.settings.sources
        for source in sources:
            batch = plugins.read_source(source, self.ws)
            write_batch(self.ws.warehouse, batch, tz=self.ws.settings.shop.timezone)
        withheld = withheld_note(sync_marks.withheld(self.ws.state))
        unread = sync_marks.unread_note(self.ws.state)
        if any(s.kind == "shopify" for s in sources):
            notes = [*notes, *(str(n) for n in (withheld, unread) if n is not None)]
        return "; ".join([f"{len(sources)} source(s)", *notes])

    def _facts(self) -> str:
        return build_facts(
            self.ws.warehouse, subtract_refunds=self.ws.settings.metrics.subtract_refunds
        )

    def _segments(
        self,
        day: dt.date,
        snapshot: Snapshot,
        pending: list[_Pending],
        progress: Progress | None,
    ) -> str:

        book = SegmentBook(self.ws)
        defined = book.list()
        conditions, skipped = self._conditions(book, defined)
        segments = [self._ready(book, s, day) for s in defined if s.name in conditions]
        held = f"; skipped, reading customer data Shopify withholds: {', '.join(skipped)}"
        note = held if skipped else ""
        if not segments:
            return "no segments" + note
        # Every segment's members on the day, in one query over the day's snapshot.
        snapshot.members_of_all(conditions)
        columns = {_membership_key(s): snapshot.member_columns[s.name] for s in segments}
        if progress:
            progress("segments", 1, 3)
        # One warehouse transaction: all segments advance, or none does.
        with transaction(self.ws.warehouse):
            self._catch_up(segments, conditions, day)
            if progress:
                progress("segments", 2, 3)
            changes = record_day(self.ws.warehouse, snapshot.tables["members"], columns, day)
        for segment in segments:
            assert segment.computed_through is not None
            first = min(segment.computed_through + dt.timedelta(days=1), day)
            change = changes[_membership_key(segment)]
            pending.append(
                _Pending(segment, _membership_key(segment), first, day, change.joined, change.left)
            )
        if progress:
            progress("segments", 3, 3)
        return f"{len(segments)} segment(s){note}"

    @staticmethod
    def _conditions(
        book: SegmentBook, defined: list[Segment]
    ) -> tuple[dict[str, Any], list[str]]:
        """Every segment's resolved condition, and the segments left out of this run because
        they read customer data Shopify withholds (``withheld_field``: they keep their
        history, and a later run catches their missed days up once the data is allowed)."""
        conditions: dict[str, Any] = {}
        skipped: list[str] = []
        for segment in defined:
            try:
                conditions[segment.name] = book.validate(segment.query)
            except SegmentError as e:
                if e.code != "withheld_field":
                    raise
                skipped.append(segment.name)
        return conditions, skipped

    def _catch_up(self, segments: list[Segment], conditions: dict[str, Any], day: dt.date) -> None:
        """Record the days a segment missed before ``day`` (no run for them), oldest first."""

        missed: dict[dt.date, list[Segment]] = {}
        for segment in segments:
            assert segment.computed_through is not None
            current = segment.computed_through + dt.timedelta(days=1)
            while current < day:
                missed.setdefault(current, []).append(segment)
                current += dt.timedelta(days=1)
        facts = Facts.of(self.ws.warehouse)
        for missed_day, behind in sorted(missed.items()):
            wide = evaluate_many(facts, missed_day, [conditions[s.name] for s in behind])
            columns = {_membership_key(s): f"m{i}" for i, s in enumerate(behind)}
            record_day(self.ws.warehouse, wide, columns, missed_day)

    def _ready(self, book: Any, segment: Segment, day: dt.date) -> Segment:
        """The segment with a computed history that a run for ``day`` can extend."""
        if segment.computed_through is None or segment.membership_key is None:
            book.recompute(segment.name)  # never computed: full history, switched at once
            segment = book.get(segment.name)
        assert segment.computed_through is not None and segment.membership_key is not None
        if day < segment.computed_through:
            raise SegmentError(
                "Segment {name!r} is already computed through {through}; "
                "cannot run for the earlier day {day}.",
                code="day_in_past",
                params={"name": segment.name, "through": segment.computed_through, "day": day},
            )
        return segment

    def _metrics(
        self, snapshot: Snapshot, pending: list[_Pending], progress: Progress | None
    ) -> str:

        on_day = metrics_of_all_on_day(self.ws.warehouse, snapshot)
        for index, item in enumerate(pending):
            if progress:
                progress("metrics", index, len(pending))
            if item.first_day == item.last_day == snapshot.day:
                row = on_day[item.segment.name] | {"joined": item.joined, "left": item.left}
                item.metrics = pd.DataFrame([row], columns=METRIC_COLUMNS)
            else:  # a catch-up over missed days
                item.metrics = daily_metrics(
                    self.ws.warehouse, stretches(self.ws.warehouse, item.membership_key),
                    item.first_day, item.last_day, snapshot,
                )
        if progress:
            progress("metrics", len(pending), len(pending))
        return ""

    def _commit(self, report: RunReport, pending: list[_Pending]) -> str:
        with self.ws.state.begin() as conn:
            for item in pending:
                segment_records.set_computed_through(conn, item.segment.id, report.day)
                if item.metrics is not None:
                    replace_metric_rows(conn, item.segment.id, item.metrics, delete_all=False)
                report.joined[item.segment.name] = item.joined
                report.left[item.segment.name] = item.left
            report.status = "succeeded"
            self._finish_record(conn, report)
        return f"{sum(report.joined.values())} joined, {sum(report.left.values())} left"

    # ------------------------------------------------------------ run records

    def _start_record(self, day: dt.date) -> int:
        return runs.start(self.ws.state, day, socket.gethostname())

    def _finish_record(
        self, conn: sa.Connection, report: RunReport, failure: dict[str, str | None] | None = None
    ) -> None:
        """Write the run's outcome; ``failure`` is its error kept to show in the reader's
        language (:func:`~segmentry.core.errors.error_record`)."""
        runs.finish(conn, report.run_id, report.status, report.stages, report.error, failure)

    def _fail(self, report: RunReport, error: BaseException, failure: RunError) -> None:
        # Nothing to undo: the warehouse transaction of the segments stage rolled back, or it
        # committed a day that reads as not yet computed and is recorded again next run.
        report.status = "failed"
        report.error = "".join(traceback.format_exception_only(error)).strip()
        with self.ws.state.begin() as conn:
            self._finish_record(conn, report, error_record(failure))


def _run_error(day: dt.date, error: BaseException) -> RunError:
    """The error a failed run for ``day`` raises and records: the stage's own error inside
    (its ``cause`` names its code, whose hint an interface shows when it has no hint of its own:
    see :mod:`segmentry.i18n.errors`)."""
    if isinstance(error, SegmentryError):
        return RunError(
            "The run for {day} failed: {detail}",
            hint="{hint}" if error.hint else None,
            params={"day": day, "detail": error.text(), "hint": error.hint_text(),
                    "cause": error.code},
        )
    return RunError("The run for {day} failed: {detail}",
                    params={"day": day, "detail": repr(error)})


def _membership_key(segment: Segment) -> str:
    assert segment.membership_key is not None
    return segment.membership_key
