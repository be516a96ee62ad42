"""Outgoing webhooks as a destination plug-in (:mod:`segmentry.app.plugins`): after each
committed run, the ``webhooks`` stage POSTs the day's joins and leaves and the sends finished
since (:func:`.service.push_webhooks`). Offered when ``[[webhooks]]`` are set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.activation.webhooks.service import push_webhooks
from segmentry.app.plugins import Destination, RunOutcome, hookimpl

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["segmentry_destinations"]


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    if not workspace.settings.webhooks:
        return None

    def push(outcome: RunOutcome) -> str:
        return push_webhooks(workspace, outcome).detail()

    return [Destination("webhooks", push)]
