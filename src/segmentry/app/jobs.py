"""Background jobs inside the server process: the daily run on its schedule, "Run now" and tag
syncs, one at a time, with progress a page can poll.

The server process owns the warehouse (an embedded DuckDB file has one writing process). Jobs
run on one worker thread over a :meth:`~segmentry.core.context.Context.sibling` of the server's
workspace: its own connection to the same database, so requests keep reading on theirs while a
job writes, and see what was committed before it (DuckDB's snapshot isolation). A job takes the
workspace lock as the CLI does; a request that would write in the meantime is told the
workspace is busy.

After every job, and once when the runner starts, the *warm-up* hooks run on the worker thread
(the web app's builds the day's live-count snapshot and journeys), so the first user after a
start or a run does not pay for them. Usage::

    runner = JobRunner(workspace, warmups=[...])
    runner.start()
    job = runner.submit("run", daily_run)  # JobBusy while another job is queued or running
    runner.get(job.id).status  # queued, running, succeeded or failed (with .error)
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import queue
import threading
import traceback
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Generic, TypeVar

from segmentry.app.pipeline import Pipeline
from segmentry.core.clock import utcnow
from segmentry.core.config import ScheduleSettings
from segmentry.core.context import Context
from segmentry.core.errors import SegmentryError, Text, error_record
from segmentry.i18n.errors import plain_text

if TYPE_CHECKING:
    from segmentry.core.context import Progress

__all__ = [
    "Job",
    "JobBusy",
    "JobRunner",
    "Periodic",
    "Scheduler",
    "Warmup",
    "Work",
    "daily_run",
    "next_run",
    "run_work",
]

log = logging.getLogger("segmentry.app.jobs")

# The worker's workspace: a context (see segmentry.core.context) of the runner's own kind (the web
# server's is a Workspace, so its jobs may use the Python API).
W = TypeVar("W", bound=Context)
# A job's work: given the worker's workspace and a progress callback, do it; the returned text
# is the job's result ("12 joined, 3 left").
Work = Callable[[W, "Progress"], str]
# A warm-up hook: given the worker's workspace, prepare what the first request would build.
Warmup = Callable[[W], None]
RECENT_JOBS = 20


@dataclass
class Job:
    """One background job and where it stands."""

    id: int
    kind: str  # run, tag_sync, tag_clear, recompute, segment_add, segment_edit
    subject: str = ""  # the segment (key) a tag sync, recompute or save is for
    trigger: str = "manual"  # manual or schedule
    status: str = "queued"  # queued, running, succeeded, failed
    stage: str = ""
    done: int = 0
    total: int = 0
    created_at: dt.datetime = field(default_factory=utcnow)
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    result: str = ""
    # English, with the raise site's own hint only: the advice for the error's code is an
    # interface's (the web adds its own, segmentry.web.data.with_failure), never a command here.
    error: str | None = None
    # The error kept to show in the reader's language (segmentry.core.errors.error_record).
    error_code: str | None = None
    error_template: str | None = None
    error_hint: str | None = None
    error_params: str | None = None
    # A short housekeeping job (applying Shopify webhooks): other jobs queue behind it rather
    # than being refused, no warm-up follows it, and once it succeeded it is forgotten.
    quiet: bool = False

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


class JobBusy(SegmentryError):
    """Another job is queued or running (one job at a time)."""

    code = "job_running"

    def __init__(self, job: Job) -> None:
        message = "A background job ({kind}, #{id}) is {status}; one job runs at a time."
        hint = "Wait for it to finish; its progress is on the Runs page."
        super().__init__(message, hint=hint, params={
            "kind": _KINDS.get(job.kind, job.kind), "id": job.id,
            "status": _STATUSES.get(job.status, job.status)})
        self.job = job


# How a busy job is named in JobBusy's message (words to translate).
_KINDS = {"run": Text("the daily run"), "tag_sync": Text("a tag sync"),
          "tag_clear": Text("clearing a tag"), "recompute": Text("recomputing a history"),
          "segment_add": Text("adding a segment"), "segment_edit": Text("saving a segment")}
_STATUSES = {"queued": Text("waiting to start"), "running": Text("under way")}


class JobRunner(Generic[W]):
    """Runs submitted jobs one at a time on a worker thread (see the module docstring)."""

    def __init__(self, workspace: W, warmups: list[Warmup[W]] | None = None,
                 housekeeping: list[Warmup[W]] | None = None) -> None:
        self.workspace = workspace
        self.warmups = list(warmups or [])
        # Run on the worker after every job, before the warm-up (finishing erasures).
        self.housekeeping = list(housekeeping or [])
        self._jobs: dict[int, Job] = {}
        self._ids = itertools.count(1)
        self._queue: queue.Queue[tuple[Job, Work[W]] | None] = queue.Queue()
        self._guard = threading.Lock()
        self._thread: threading.Thread | None = None
        self.warm = threading.Event()  # set once a warm-up has finished
        self.warmed_at: dt.datetime | None = None
        self.warm_seconds: float | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self, *, warm: bool = True) -> None:
        """Start the worker thread (and warm up first when ``warm``)."""
        worker = self.workspace.sibling()  # NOTE: here, before other threads use the workspace
        self._thread = threading.Thread(
            target=self._loop, args=(worker, warm), name="segmentry-jobs", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Finish the job under way (none is started after it), then stop."""
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)

    # ------------------------------------------------------------ jobs

    def submit(self, kind: str, work: Work[W], *, subject: str = "", trigger: str = "manual",
               quiet: bool = False) -> Job:
        """Queue a job; raises :class:`JobBusy` while another is queued or running (a quiet
        job is queued only when no job at all is, and does not make others wait to be
        submitted: they queue behind it)."""
        with self._guard:
            busy = self.current() if not quiet else self._any_unfinished()
            if busy is not None:
                raise JobBusy(replace(busy))
            job = Job(id=next(self._ids), kind=kind, subject=subject, trigger=trigger,
                      quiet=quiet)
            self._jobs[job.id] = job
            for old in sorted(self._jobs)[:-RECENT_JOBS]:
                del self._jobs[old]
        self._queue.put((job, work))
        return replace(job)

    def get(self, job_id: int) -> Job | None:
        """A copy of the job (a snapshot of its progress), if it is still remembered."""
        job = self._jobs.get(job_id)
        return None if job is None else replace(job)

    def current(self) -> Job | None:
        """The job queued or running, if any (quiet ones aside)."""
        for job in list(self._jobs.values()):
            if not job.finished and not job.quiet:
                return replace(job)
        return None

    def idle(self) -> bool:
        """Whether no job at all is queued or running."""
        return self._any_unfinished() is None

    def _any_unfinished(self) -> Job | None:
        return next((replace(j) for j in list(self._jobs.values()) if not j.finished), None)

    def recent(self) -> list[Job]:
        """The jobs this server ran (the last 20), newest first (a quiet job only when it
        failed)."""
        return [replace(j) for j in sorted(self._jobs.values(), key=lambda j: -j.id)
                if not (j.quiet and j.status == "succeeded")]

    # ------------------------------------------------------------ the worker

    def _loop(self, worker: W, warm: bool) -> None:
        try:
            if warm:
                self._warm(worker)
            while (item := self._queue.get()) is not None:
                job, work = item
                self._run(worker, job, work)
                self._housekeep(worker)
                if job.quiet and job.status == "succeeded":
                    self._jobs.pop(job.id, None)
                else:
                    self._warm(worker)
        finally:
            worker.close()

    def _run(self, worker: W, job: Job, work: Work[W]) -> None:
        job.status, job.started_at = "running", utcnow()

        def progress(stage: str, done: int, total: int) -> None:
            job.stage, job.done, job.total = stage, done, total

        try:
            job.result = run_work(work, worker, progress)
            job.status = "succeeded"
        except BaseException as e:  # recorded and shown; the server carries on
            job.error = "".join(traceback.format_exception_only(e)).strip()
            if isinstance(e, SegmentryError):
                job.error = plain_text(e)
            failure = e if isinstance(e, SegmentryError) else SegmentryError(
                "The job stopped on an unexpected error: {detail}", code="job_failed",
                params={"detail": repr(e)})
            for name, value in error_record(failure).items():
                setattr(job, name, value)
            job.status = "failed"
            log.error("background job %s #%d failed", job.kind, job.id, exc_info=e)
            if not isinstance(e, Exception):
                raise
        finally:
            job.finished_at = utcnow()

    def _housekeep(self, worker: W) -> None:
        for hook in self.housekeeping:
            try:
                hook(worker)
            except Exception as e:  # logged; the hook tries again after the next job
                log.warning("housekeeping %s failed", getattr(hook, "__name__", hook), exc_info=e)

    def _warm(self, worker: W) -> None:
        started = utcnow()
        for hook in self.warmups:
            try:
                hook(worker)
            except Exception as e:  # warming is an optimisation: never fatal
                log.warning("warm-up %s failed", getattr(hook, "__name__", hook), exc_info=e)
        self.warmed_at = utcnow()
        self.warm_seconds = (self.warmed_at - started).total_seconds()
        self.warm.set()


def run_work(work: Work[W], worker: W, progress: Progress) -> str:
    """Call ``work``; a job's result is its text."""
    return str(work(worker, progress) or "")


def daily_run(worker: Context, progress: Progress) -> str:
    """The daily pipeline for today in the shop's zone, as a job (see
    :mod:`segmentry.app.pipeline`)."""
    report = Pipeline(worker).run(worker.today(), progress)
    return (f"run #{report.run_id} for {report.day}: {sum(report.joined.values())} joined, "
            f"{sum(report.left.values())} left")


# ---------------------------------------------------------------- the daily schedule


def next_run(schedule: ScheduleSettings, timezone: str, now: dt.datetime) -> dt.datetime | None:
    """When the scheduled daily run comes next after ``now`` (an aware time), in the shop's
    zone; None when the schedule is off.

    >>> s = ScheduleSettings(time="04:00")
    >>> now = dt.datetime(2026, 12, 1, 3, 59, tzinfo=zoneinfo.ZoneInfo("Asia/Tokyo"))
    >>> next_run(s, "Asia/Tokyo", now).isoformat()
    '2026-12-01T04:00:00+09:00'
    >>> next_run(s, "Asia/Tokyo", now.replace(hour=4)).isoformat()
    '2026-12-02T04:00:00+09:00'
    """
    if not schedule.enabled:
        return None
    zone = zoneinfo.ZoneInfo(timezone)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(3):  # NOTE: a wall time a DST jump skips is taken as the next day's
        candidate = dt.datetime.combine(day, schedule.daily_run_at, tzinfo=zone)
        if candidate > local:
            return candidate
        day += dt.timedelta(days=1)
    raise AssertionError("unreachable")


class Scheduler:
    """Submits the daily run to a :class:`JobRunner` at the scheduled time, every day.

    ``settings`` is read at every wake-up, so a changed time applies at once
    (:meth:`reschedule` wakes the thread). A run still going at the next scheduled time (or a
    tag sync) makes that day's scheduled run skip; the next one catches up the missed day.
    """

    def __init__(
        self,
        runner: JobRunner,
        work: Work,
        *,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.runner, self.work, self.clock = runner, work, clock
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self.skipped: list[dt.datetime] = []

    @property
    def next_run(self) -> dt.datetime | None:
        ws = self.runner.workspace
        return next_run(ws.settings.schedule, ws.settings.shop.timezone, self.clock())

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="segmentry-schedule", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def reschedule(self) -> None:
        """Recompute the next run (after the schedule setting changed)."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stopping:
            due = self.next_run
            wait = 3600.0 if due is None else (due - self.clock()).total_seconds()
            if self._wake.wait(min(max(wait, 0), 3600)):
                self._wake.clear()
                continue
            if due is not None and self.clock() >= due:
                self._fire(due)

    def _fire(self, due: dt.datetime) -> None:
        try:
            self.runner.submit("run", self.work, trigger="schedule")
        except JobBusy:
            log.warning("scheduled run of %s skipped: another job is running", due)
            self.skipped.append(due)


class Periodic:
    """Submits a quiet job to a :class:`JobRunner` every ``every`` seconds while ``due()``
    says there is work, and only when no other job is queued or running (it tries again at
    the next tick): the web app applies the Shopify webhook queue this way without ever
    colliding with the daily run."""

    def __init__(self, runner: JobRunner, kind: str, work: Work, due: Callable[[], bool],
                 *, every: float = 2.0) -> None:
        self.runner, self.kind, self.work, self.due, self.every = runner, kind, work, due, every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"segmentry-{self.kind}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.tick()

    def tick(self) -> Job | None:
        """Submit the job now if there is work and the runner is idle; the job, else None."""
        try:
            if not self.runner.idle() or not self.due():
                return None
            return self.runner.submit(self.kind, self.work, trigger="schedule", quiet=True)
        except JobBusy:  # another job got in first: next tick
            return None
        except Exception as e:  # e.g. the state store is unreachable: next tick
            log.warning("checking for %s work failed: %s", self.kind, e)
            return None
