"""The web app's background work: the job runner, the daily schedule and the warm-up.

:func:`attach` gives the app's :class:`~segmentry.web.deps.WebState` a
:class:`~segmentry.jobs.JobRunner` (and, for ``segmentry serve``, a
:class:`~segmentry.jobs.Scheduler`); :func:`start` and :func:`stop` run in the app's lifespan.

The warm-up runs when the runner starts and after every job: it builds the current day's
live-count snapshot on the requests' connection (holding the request lock, as a request would)
and the journeys of every segment on the worker's own connection, so the first live count
and the first journeys panel of the day are served warm.
"""

from __future__ import annotations

from segmentry.jobs import JobRunner, Scheduler, Warmup, daily_run
from segmentry.web import data
from segmentry.web.deps import WebState
from segmentry.workspace import Workspace

__all__ = ["attach", "start", "stop"]


def warm_up(web: WebState) -> Warmup:
    """The warm-up hook of ``web`` (see the module docstring)."""

    def warm(worker: Workspace) -> None:
        with web.lock:
            data.warm_live_count(web.workspace, web.snapshots)
        data.warm_journeys(worker, web.cache)

    return warm


def attach(web: WebState, *, schedule: bool, warm: bool) -> None:
    web.runner = JobRunner(web.workspace, warmups=[warm_up(web)] if warm else [])
    web.scheduler = Scheduler(web.runner, daily_run) if schedule else None


def start(web: WebState, *, warm: bool) -> None:
    assert web.runner is not None
    web.runner.start(warm=warm)
    if web.scheduler is not None:
        web.scheduler.start()


def stop(web: WebState) -> None:
    if web.scheduler is not None:
        web.scheduler.stop()
    if web.runner is not None:
        web.runner.stop()
