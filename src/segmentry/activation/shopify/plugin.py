"""Shopify tag sync as a destination plug-in (:mod:`segmentry.app.plugins`): after a committed
run, every segment bound to a Shopify tag is pushed (:func:`.activate.after_run`), recorded as
the run's ``activate`` stage. Before the ingest, unsubscriptions made through segmentry's links
and not yet in Shopify are written back (:mod:`.consent`), so the sync reads them back. Neither
is offered when the workspace is not connected to Shopify."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from segmentry.activation.shopify.activate import after_run
from segmentry.activation.shopify.consent import write_back
from segmentry.app.plugins import Destination, RunOutcome, hookimpl
from segmentry.core.errors import ShopifyError

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["segmentry_before_ingest", "segmentry_destinations"]

log = logging.getLogger("segmentry.activation.shopify")


@hookimpl
def segmentry_before_ingest(workspace: Context) -> str | None:
    if workspace.settings.shopify is None:
        return None
    try:
        done = write_back(workspace)
    except ShopifyError as e:  # the queue waits for the next run; the sync says what is wrong
        log.warning("unsubscriptions not written back to Shopify: %s", e)
        return None
    return str(done) if done.written or done.refused else None


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    if workspace.settings.shopify is None:
        return None

    def push(outcome: RunOutcome) -> str:
        return after_run(workspace)

    return [Destination("activate", push)]
