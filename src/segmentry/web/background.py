"""The web app's background work: the job runner, the daily schedule and the warm-up.

:func:`attach` gives the app's :class:`~segmentry.web.deps.WebApp` a
:class:`~segmentry.app.jobs.JobRunner` (and, for ``segmentry serve``, a
:class:`~segmentry.app.jobs.Scheduler`); :func:`start` and :func:`stop` run in the app's lifespan.

The Shopify webhook queue is applied here too: the server owns the warehouse, so it applies the
deliveries that it (``POST /webhooks/shopify``) or ``segmentry serve-webhooks`` queued, as a
quiet background job every :data:`WEBHOOKS_EVERY` seconds when some are due and no other job
is queued or running (see :class:`~segmentry.app.jobs.Periodic`). After every job, erasures that
wait are finished (:func:`finish_erasures_of`); erasures waiting make the queue job run too.
An erasure that cannot be finished now (a command holds the workspace or the warehouse file) is
tried again after a pause that doubles each time, from 2 seconds to 5 minutes
(:class:`Backoff`), rather than rewriting the warehouse every tick.

The warm-up runs when the runner starts and after every job: it builds the current day's
live-count snapshot on the requests' connection (holding the request lock, as a request would)
and the journeys of every segment on the worker's own connection, so the first live count
and the first journeys panel of the day are served warm.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from segmentry.app.erasure import finish_erasures, waiting_erasures
from segmentry.app.jobs import JobRunner, Periodic, Scheduler, Warmup, daily_run
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.webhooks import apply_webhooks, has_due_webhooks
from segmentry.core.errors import LockHeldError
from segmentry.web import data
from segmentry.web.deps import WebApp

__all__ = ["WEBHOOKS_EVERY", "Backoff", "attach", "finish_erasures_of", "start", "stop"]

WEBHOOKS_EVERY = 2.0  # seconds between two looks at the webhook queue


def warm_up(web: WebApp) -> Warmup:
    """The warm-up hook of ``web`` (see the module docstring)."""

    def warm(worker: Workspace) -> None:
        with web.lock:
            data.warm_live_count(web.workspace, web.snapshots)
        data.warm_journeys(worker, web.cache)

    return warm


class Backoff:
    """When to try again something that could not be done now: after ``first`` seconds, then
    twice as long after each failure, at most ``longest``; at once again after a success.

    >>> clock = iter([0.0, 0.0, 1.0, 3.0, 3.0, 3.0]).__next__
    >>> b = Backoff(first=2, longest=8, clock=clock)
    >>> b.failed(); b.ready(), b.ready(), b.ready()  # at 0, then 1 and 3 seconds
    (False, False, True)
    >>> b.failed(); b.wait
    4.0
    """

    def __init__(self, *, first: float = 2.0, longest: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.first, self.longest, self.clock = float(first), float(longest), clock
        self.wait = 0.0
        self._not_before = 0.0

    def ready(self) -> bool:
        return self.clock() >= self._not_before

    def failed(self) -> None:
        self.wait = min(max(self.wait * 2, self.first), self.longest)
        self._not_before = self.clock() + self.wait

    def succeeded(self) -> None:
        self.wait, self._not_before = 0.0, 0.0


def finish_erasures_of(web: WebApp, backoff: Backoff | None = None) -> Warmup[Workspace]:
    """The housekeeping hook that finishes erasures (see :mod:`segmentry.app.erasure`): it holds
    the request lock and the workspace lock while the warehouse file is rewritten, so every
    connection of the process can be closed and opened again (pages wait that long). When they
    cannot be finished now, ``backoff`` says when to try again."""
    retry = backoff or Backoff()

    def finish(worker: Workspace) -> None:
        if not waiting_erasures(worker.state) or not retry.ready():
            return
        try:
            with web.lock, worker.lock("finish erasures"):
                web.snapshots.forget()
                web.cache.clear()
                finished = finish_erasures(web.workspace, siblings=[worker])
        except LockHeldError:  # a command holds the workspace
            finished = 0
        if finished:
            retry.succeeded()
        else:
            retry.failed()

    return finish


def _due(web: WebApp, erasures: Backoff) -> bool:
    state = web.workspace.state
    return has_due_webhooks(state) or (erasures.ready() and bool(waiting_erasures(state)))


def attach(web: WebApp, *, schedule: bool, warm: bool) -> None:
    erasures = Backoff()
    web.runner = JobRunner(web.workspace, warmups=[warm_up(web)] if warm else [],
                           housekeeping=[finish_erasures_of(web, erasures)])
    web.scheduler = Scheduler(web.runner, daily_run) if schedule else None
    web.webhooks = Periodic(
        web.runner,
        "webhooks",
        apply_webhooks,
        lambda: _due(web, erasures),
        every=WEBHOOKS_EVERY,
    )


def start(web: WebApp, *, warm: bool) -> None:
    assert web.runner is not None
    web.runner.start(warm=warm)
    if web.scheduler is not None:
        web.scheduler.start()
    if web.webhooks is not None:
        web.webhooks.start()


def stop(web: WebApp) -> None:
    if web.webhooks is not None:
        web.webhooks.stop()
    if web.scheduler is not None:
        web.scheduler.stop()
    if web.runner is not None:
        web.runner.stop()
