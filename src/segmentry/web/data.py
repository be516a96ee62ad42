"""What the pages show, read from the workspace: one function per page context, each returning
the API model the JSON twin sends (handlers stay thin, and both twins share the numbers).

Slow reads are cached in the app's memory under keys that change whenever the data does (the
segment's membership key changes on every recompute, and the overview's fingerprint on every run),
so a cache entry is never stale, only unused.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

import pandas as pd

from segmentry.activation.shopify.activate import clear_segment, sync_segment
from segmentry.activation.shopify.tags import sync_status
from segmentry.analytics import exports
from segmentry.analytics.attribute_values import field_of, matching, store_values
from segmentry.analytics.evaluation import Snapshot
from segmentry.app import reports
from segmentry.app.segments import Segment, SegmentBook
from segmentry.app.summary import summarize_metrics
from segmentry.app.workspace import Workspace
from segmentry.core.errors import ERROR_FIELDS, SegmentError, stored_error
from segmentry.i18n.errors import plain_text
from segmentry.language import full_width_literals, normalize
from segmentry.web import folders
from segmentry.web.hints import WEB_HINTS, stored_error_body
from segmentry.web.schemas import (
    Error,
    JobOut,
    JourneyOut,
    Member,
    MemberPage,
    MetricRow,
    Preview,
    RunOut,
    SegmentDetail,
    SegmentList,
    SegmentSummary,
    TagPlanChange,
    TagPlanOut,
    TagSyncJob,
    TagSyncOut,
    ValueList,
    ValueOption,
)

__all__ = [
    "SORT_KEYS",
    "CsvLayout",
    "SnapshotCache",
    "day_in_history",
    "day_of",
    "journey_of",
    "member_page",
    "members_csv",
    "metrics_csv",
    "on_day",
    "preview",
    "recent_runs",
    "segment_detail",
    "segment_list",
    "store_trend",
    "summaries",
    "tag_plan",
    "tag_sync",
    "values_of",
    "warm_journeys",
    "warm_live_count",
    "with_failure",
]

SORT_KEYS = ("name", "customers", "repeat_rate", "ltv", "aov", "revenue_30d", "change_30d")
SPARK_DAYS = 90
_CACHE_LIMIT = 256
T = TypeVar("T")


def cached(cache: dict[Any, Any], key: Any, build: Callable[[], T]) -> T:
    """``cache[key]``, built on first use (the cache is emptied when it grows too big)."""
    if key not in cache:
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[key] = build()
    result: T = cache[key]
    return result


def _fingerprint(ws: Workspace) -> tuple[Any, ...]:
    """Changes whenever any segment, its membership, its folder or the runs change."""
    return (*reports.data_version(ws), tuple(sorted(folders.folders(ws.state).items())))


def _summary(segment: Segment, frame: pd.DataFrame | None, folder: str | None) -> SegmentSummary:
    row: dict[str, Any] = {}
    spark: list[int] = []
    if frame is not None and not frame.empty:
        row = {k: _plain(v) for k, v in summarize_metrics(frame).items()}
        spark = [int(v) for v in frame["customers"].tail(SPARK_DAYS)]
    return SegmentSummary(
        name=segment.name, description=segment.description, version=segment.version,
        folder=folder, query=segment.query, sparkline=spark, key=segment.key,
        display_name=segment.display_name, **row,
    )


def summaries(ws: Workspace, cache: dict[Any, Any]) -> list[SegmentSummary]:
    """Every segment's one-line summary (cached until anything changes)."""

    def build() -> list[SegmentSummary]:
        where = folders.folders(ws.state)
        result = []
        for segment in ws.segments():
            frame = ws.metrics(segment.name) if segment.computed_through else None
            result.append(_summary(segment, frame, where.get(segment.id)))
        return result

    return cached(cache, ("summaries", _fingerprint(ws)), build)


def segment_list(
    ws: Workspace, cache: dict[Any, Any], sort: str, order: str, folder: str | None
) -> SegmentList:
    rows = summaries(ws, cache)
    names = sorted({r.folder for r in rows if r.folder})
    if folder:
        rows = [r for r in rows if r.folder == folder]

    def key(row: SegmentSummary) -> tuple[bool, Any]:
        value = row.display_name if sort == "name" else getattr(row, sort)
        return (value is None, value.lower() if isinstance(value, str) else value)

    rows = sorted(rows, key=key, reverse=order == "desc")
    if order == "desc":  # keep the blanks last either way
        rows = [r for r in rows if getattr(r, sort) is not None] + [
            r for r in rows if getattr(r, sort) is None
        ]
    return SegmentList(day=ws.current_day(), sort=sort, order=order, folder=folder,
                       folders=names, segments=rows)


STORE_TREND_DAYS = 90


def store_trend(ws: Workspace, cache: dict[Any, Any]) -> list[MetricRow]:
    """The store's daily metrics over the last :data:`STORE_TREND_DAYS` days (the overview),
    cached until the next finished run."""
    day = ws.current_day()
    return cached(cache, ("shop", day, reports.last_finished_run(ws)),
                  lambda: _metric_rows(reports.store_trend(ws, day, STORE_TREND_DAYS)))


def _metric_rows(frame: pd.DataFrame) -> list[MetricRow]:
    if frame.empty:
        return []
    records = frame.to_dict("records")
    return [MetricRow(**{k: _plain(v) for k, v in r.items()}) for r in records]


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, Decimal):  # NOTE: a missing metric can read back as Decimal('NaN')
        return None if value.is_nan() else value
    if value is None or (not isinstance(value, Decimal | str) and pd.isna(value)):
        return None
    return value


def segment_detail(ws: Workspace, cache: dict[Any, Any], name: str,
                   lang: str = "en") -> SegmentDetail:
    segment = ws.segment(name)
    folder = folders.folder_of(ws.state, segment.id)

    def build() -> tuple[SegmentSummary, list[MetricRow]]:
        frame = ws.metrics(segment.key) if segment.computed_through else None
        rows = _metric_rows(frame) if frame is not None else []
        return _summary(segment, frame, folder), rows

    key = ("detail", segment.id, segment.version, segment.membership_key,
           segment.computed_through, folder, segment.updated_at)
    summary, rows = cached(cache, key, build)
    return SegmentDetail(
        segment=summary, history_start=segment.history_start,
        computed_through=segment.computed_through, created_at=segment.created_at,
        updated_at=segment.updated_at, metrics=rows, tag_sync=tag_sync(ws, segment.key, lang),
    )


def day_in_history(segment: Segment, day: dt.date | None) -> tuple[dt.date | None, bool]:
    """The day to show for ``day`` (None: the last computed day) and whether it was in the
    segment's history; a day outside it gives the last computed day and False."""
    last = segment.computed_through
    if day is None or last is None:
        return last, True
    if day > last or (segment.history_start is not None and day < segment.history_start):
        return last, False
    return day, True


def on_day(detail: SegmentDetail, day: dt.date) -> SegmentDetail:
    """``detail`` with its one-line summary (customers, repeat rate, LTV, AOV, revenue over 30
    days, change over 30 days) as of ``day`` instead of the last computed day."""
    if not detail.metrics:
        return detail
    frame = pd.DataFrame([m.model_dump() for m in detail.metrics])
    figures = {k: _plain(v) for k, v in summarize_metrics(frame, day).items()}
    summary = detail.segment.model_copy(update=figures)
    return detail.model_copy(update={"segment": summary})


def tag_sync(ws: Workspace, name: str, lang: str = "en") -> TagSyncOut | None:
    """The segment's Shopify tag-sync status (read fresh: a sync may run at any time), its last
    job's failure in ``lang``."""
    if ws.settings.shopify is None:
        return None
    status = sync_status(ws.state, name)
    if status is None:
        return None
    out = TagSyncOut.model_validate(dataclasses.asdict(status))
    if out.last_job is not None:
        out.last_job = with_failure(out.last_job, lang)
    return out


def _computed(ws: Workspace, name: str, day: dt.date | None) -> tuple[Segment, dt.date]:
    segment = ws.segment(name)
    if segment.membership_key is None or segment.computed_through is None:
        raise SegmentError("Segment {name!r} has not been computed yet.", code="not_computed",
                           hint="Run the daily pipeline first.", params={"name": name})
    day = day or segment.computed_through
    if day > segment.computed_through or (segment.history_start and day < segment.history_start):
        raise SegmentError(
            "Segment {name!r} has history from {start} to {through}; {day} is outside it.",
            code="day_out_of_range", params={"name": name, "start": segment.history_start,
                                             "through": segment.computed_through, "day": day},
        )
    return segment, day


def day_of(ws: Workspace, name: str, day: dt.date | None) -> dt.date:
    """``day`` (default: the last computed day) if it is in the segment's history; otherwise a
    ``day_out_of_range`` error naming the history's first and last day."""
    return _computed(ws, name, day)[1]


def journey_of(
    ws: Workspace, cache: dict[Any, Any], name: str, day: dt.date | None
) -> JourneyOut:
    segment, day = _computed(ws, name, day)
    assert segment.membership_key is not None
    key = segment.membership_key

    def build() -> JourneyOut:
        return JourneyOut(**reports.journey_on(ws, key, day).to_dict())

    return cached(cache, ("journey", key, day), build)


def member_page(
    ws: Workspace, name: str, day: dt.date | None, q: str, page: int, per_page: int,
    cache: dict[Any, Any] | None = None,
) -> MemberPage:
    """A page of the members on ``day`` whose id, email or name contains ``q``, and how many
    there are (read through the segment service; cached by the segment's membership key)."""
    segment, day = _computed(ws, name, day)
    key, book = segment.membership_key, SegmentBook(ws)

    def count() -> int:
        return book.member_count(segment.key, day, search=q)

    def chunk() -> list[Member]:
        rows = book.members(segment.key, day, search=q, limit=per_page,
                            offset=(page - 1) * per_page)
        return [Member(**row) for row in rows.to_pylist()]

    if cache is None:
        total, members = count(), chunk()
    else:
        total = cached(cache, ("members", key, day, q), count)
        members = cached(cache, ("member_page", key, day, q, page, per_page), chunk)
    return MemberPage(segment=name, day=day, total=total, page=page, per_page=per_page, q=q,
                      members=members)


def members_csv(ws: Workspace, name: str, day: dt.date | None, layout: CsvLayout
                ) -> tuple[bytes, dt.date]:
    """Every member on ``day`` as CSV, with the columns of :data:`exports.MEMBER_COLUMNS`."""
    _, day = _computed(ws, name, day)
    rows, day = ws.member_details(name, day)
    if layout.labels:  # for people: phone numbers as Japan writes them, which Excel keeps as text
        rows = [{**row, "phone": exports.domestic_phone(row["phone"])} for row in rows]
    headers = layout.headers(exports.MEMBER_COLUMNS)
    return exports.to_csv(rows, exports.MEMBER_COLUMNS, headers, bom=layout.bom,
                          yes_no=layout.yes_no), day


def metrics_csv(ws: Workspace, name: str, day: dt.date | None, layout: CsvLayout
                ) -> tuple[bytes, dt.date]:
    """The segment's daily metrics through ``day`` (default: all days) as CSV."""
    _, day = _computed(ws, name, day)
    rows = exports.metric_rows(ws.metrics(name), day)
    headers = layout.headers(exports.METRIC_COLUMNS)
    return exports.to_csv(rows, exports.METRIC_COLUMNS, headers, bom=layout.bom), day


@dataclasses.dataclass(frozen=True)
class CsvLayout:
    """How a CSV download is written: ``labels`` (column key → header; None: the stable keys),
    a byte-order mark for Excel, and the words for true and false."""

    labels: Callable[[str], str] | None = None
    bom: bool = False
    yes_no: tuple[str, str] = ("true", "false")

    def headers(self, columns: tuple[str, ...]) -> list[str] | None:
        return [self.labels(c) for c in columns] if self.labels else None


def preview(
    ws: Workspace,
    query: str,
    sample_size: int = 10,
    snapshots: SnapshotCache | None = None,
) -> Preview:
    """Validate a query, then count its members on the current day and show a few.

    With ``snapshots`` (the server's), the day's per-customer statistics are built once per
    pipeline run and every typed query only evaluates its own condition over them.
    """
    started = time.perf_counter()
    day = ws.current_day()
    snapshot = snapshots.of(ws, day) if snapshots is not None else None
    count, sample = SegmentBook(ws).preview(query, day, snapshot=snapshot, sample=sample_size)
    read_as = normalize(query)
    return Preview(day=day, count=count, sample=[Member(**row) for row in sample],
                   seconds=time.perf_counter() - started,
                   read_as=read_as.strip() if read_as != query else None,
                   full_width_text=full_width_literals(query),
                   no_events=ws.unrecorded_events(query))


class SnapshotCache:
    """The live count's :class:`~segmentry.analytics.evaluation.Snapshot` of the current day
    as of the latest finished run, kept open on the requests' connection (its temporary
    tables) until the next run, or until :meth:`forget` closes it.

    Used under the request lock (it belongs to that connection).

    NOTE: data imported since the last run shows in live counts after the next run.
    """

    def __init__(self) -> None:
        self._open = contextlib.ExitStack()
        self.key: tuple[dt.date, int | None] | None = None  # (day, last finished run)
        self._snapshot: Snapshot | None = None

    def of(self, ws: Workspace, day: dt.date) -> Snapshot:
        """The open snapshot of ``day``; one of an older day or run is closed first."""
        key = (day, reports.last_finished_run(ws))
        if self._snapshot is None or key != self.key:
            self.forget()
            self._snapshot = self._open.enter_context(
                Snapshot(ws.warehouse, day, with_lines=True))
            self.key = key
        return self._snapshot

    def forget(self) -> None:
        """Close the snapshot (drop its temporary tables)."""
        self._snapshot, self.key = None, None
        self._open.close()


def recent_runs(ws: Workspace, limit: int, lang: str = "en") -> list[RunOut]:
    """The latest runs, newest first, each failure in ``lang``."""
    result = []
    for run in ws.runs(limit):
        finished, started = run.get("finished_at"), run["started_at"]
        seconds = (finished - started).total_seconds() if finished else None
        result.append(with_failure(RunOut(**{**run, "seconds": seconds}), lang))
    return result


Failed = TypeVar("Failed", RunOut, JobOut, TagSyncJob)


def with_failure(model: Failed, lang: str) -> Failed:
    """``model`` (a run, a job) with its stored failure as ``error_detail`` in ``lang`` (a
    failure stored by an older release has its English ``error`` only).

    A background job's English ``error`` gets the web's hint for its code too (the job keeps
    only its raise site's: the app layer knows no interface's advice).
    """
    body = stored_error_body(model, lang)
    if body is None:
        return model
    update: dict[str, Any] = {"error_detail": Error.model_validate(body)}
    if isinstance(model, JobOut):
        failure = stored_error({name: getattr(model, name) for name in ERROR_FIELDS})
        if failure is not None:
            update["error"] = plain_text(failure, WEB_HINTS)
    return model.model_copy(update=update)


def values_of(
    ws: Workspace, cache: dict[Any, Any], attribute: str, prefix: str, limit: int
) -> ValueList:
    """The store's values of ``attribute`` (or ``function.argument``) matching ``prefix``.

    Every value of the field is read once per pipeline run (cached; bounded by
    :data:`~segmentry.analytics.attribute_values.MAX_VALUES`), then each keystroke only filters
    them.
    """
    sources = field_of(attribute)
    if sources is None:
        raise SegmentError("There are no values to suggest for this name.", code="no_values",
                           hint="Values are suggested for text attributes and arguments.")
    run = reports.last_finished_run(ws)
    found = cached(cache, ("values", sources, run), lambda: store_values(ws.warehouse, sources))
    return ValueList(attribute=attribute, prefix=prefix, distinct=found.distinct,
                     values=[ValueOption(value=v, label=label)
                             for v, label in matching(found, prefix, limit)])


# ---------------------------------------------------------------- warm-up (after start and jobs)


WARM_QUERY = "number_of_orders >= 1"


def warm_live_count(ws: Workspace, snapshots: SnapshotCache) -> None:
    """Build the current day's live-count snapshot now rather than at the first typed query,
    and count one query over it (which reads the customers table into DuckDB's buffers).

    The snapshot's tables are temporary tables of ``ws``'s connection (the one requests use),
    so the caller holds the request lock while this runs.
    """
    preview(ws, WARM_QUERY, sample_size=1, snapshots=snapshots)


def warm_journeys(worker: Workspace, cache: dict[Any, Any]) -> int:
    """Compute every computed segment's journeys (and the segment list and the store's trend
    for the overview) on ``worker``'s own connection and keep them in ``cache`` under the keys
    requests look up; returns how many journeys.

    They are plain data, so they may be built on another connection than the requests'.
    """
    summaries(worker, cache)
    store_trend(worker, cache)
    warmed = 0
    for segment in worker.segments():
        if segment.membership_key is not None and segment.computed_through is not None:
            journey_of(worker, cache, segment.name, None)
            warmed += 1
    return warmed


# ---------------------------------------------------------------- tag sync (dry run)

TAG_PLAN_SAMPLE = 10


def tag_plan(ws: Workspace, name: str, tag: str | None, *, clear: bool = False,
             adopt: bool = False) -> TagPlanOut:
    """What syncing ``name`` as ``tag`` (or clearing its tag) would change, with a few of the
    customers; the same plan ``segmentry segments sync --dry-run`` prints."""

    if clear:
        plan = clear_segment(ws, name, dry_run=True).plan
    else:
        plan = sync_segment(ws, name, tag, dry_run=True, adopt=adopt).plan
    adds = plan.adds[:TAG_PLAN_SAMPLE]
    removes = list(plan.removes.items())[:TAG_PLAN_SAMPLE]
    people = reports.contacts(ws, [*adds, *(c for c, _ in removes)])

    def change(customer: str, tags: list[str]) -> TagPlanChange:
        return TagPlanChange(customer_id=customer, tags=tags, **people.get(customer, {}))

    return TagPlanOut(
        segment=name, tag=plan.tag, adds=len(plan.adds), removes=len(plan.removes),
        sample_adds=[change(c, [plan.tag]) for c in adds],
        sample_removes=[change(c, t) for c, t in removes],
    )

