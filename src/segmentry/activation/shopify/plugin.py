"""Shopify tag sync as a destination plug-in (:mod:`segmentry.app.plugins`): after a committed
run, every segment bound to a Shopify tag is pushed (:func:`.activate.after_run`), recorded as
the run's ``activate`` stage. Not offered when the workspace is not connected to Shopify."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.activation.shopify.activate import after_run
from segmentry.app.plugins import Destination, RunOutcome, hookimpl

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["segmentry_destinations"]


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    if workspace.settings.shopify is None:
        return None

    def push(outcome: RunOutcome) -> str:
        return after_run(workspace)

    return [Destination("activate", push)]
