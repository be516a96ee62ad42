"""The web app's background work: the job runner, the daily schedule and the warm-up.

:func:`attach` gives the app's :class:`~segmentry.web.deps.WebApp` a
:class:`~segmentry.app.jobs.JobRunner` (and, for ``segmentry serve``, a
:class:`~segmentry.app.jobs.Scheduler`); :func:`start` and :func:`stop` run in the app's lifespan.

The Shopify webhook queue is applied here too: the server owns the warehouse, so it applies the
deliveries that it (``POST /webhooks/shopify``) or ``segmentry serve-webhooks`` queued, as a
quiet background job every :data:`WEBHOOKS_EVERY` seconds when some are due and no other job
is queued or running (see :class:`~segmentry.app.jobs.Periodic`). After every job, erasures that
wait are finished (:func:`finish_erasures_of`); erasures waiting make the queue job run too.

The warm-up runs when the runner starts and after every job: it builds the current day's
live-count snapshot on the requests' connection (holding the request lock, as a request would)
and the journeys of every segment on the worker's own connection, so the first live count
and the first journeys panel of the day are served warm.
"""

from __future__ import annotations

from segmentry.app.erasure import finish_erasures, waiting_erasures
from segmentry.app.jobs import JobRunner, Periodic, Scheduler, Warmup, daily_run
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.webhooks import apply_webhooks, has_due_webhooks
from segmentry.core.errors import LockHeldError
from segmentry.web import data
from segmentry.web.deps import WebApp

__all__ = ["WEBHOOKS_EVERY", "attach", "start", "stop"]

WEBHOOKS_EVERY = 2.0  # seconds between two looks at the webhook queue


def warm_up(web: WebApp) -> Warmup:
    """The warm-up hook of ``web`` (see the module docstring)."""

    def warm(worker: Workspace) -> None:
        with web.lock:
            data.warm_live_count(web.workspace, web.snapshots)
        data.warm_journeys(worker, web.cache)

    return warm


def finish_erasures_of(web: WebApp) -> Warmup:
    """The housekeeping hook that finishes erasures (see :mod:`segmentry.app.erasure`): it holds
    the request lock and the workspace lock while the warehouse file is rewritten, so every
    connection of the process can be closed and opened again (pages wait that long)."""

    def finish(worker: Workspace) -> None:
        if not waiting_erasures(worker.state):
            return
        try:
            with web.lock, worker.lock("finish erasures"):
                web.snapshots.forget()
                web.cache.clear()
                finish_erasures(web.workspace, siblings=[worker])
        except LockHeldError:  # a command holds the workspace: after the next job
            return

    return finish


def _due(web: WebApp) -> bool:
    return has_due_webhooks(web.workspace.state) or bool(waiting_erasures(web.workspace.state))


def attach(web: WebApp, *, schedule: bool, warm: bool) -> None:
    web.runner = JobRunner(web.workspace, warmups=[warm_up(web)] if warm else [],
                           housekeeping=[finish_erasures_of(web)])
    web.scheduler = Scheduler(web.runner, daily_run) if schedule else None
    web.webhooks = Periodic(
        web.runner,
        "webhooks",
        apply_webhooks,
        lambda: _due(web),
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
