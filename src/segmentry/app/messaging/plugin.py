"""Sends continue after every daily run (a destination, :mod:`segmentry.app.plugins`): messages
held by quiet hours, or by a channel that was down, go out with the next run, recorded as its
``messages`` stage. Offered when LINE or e-mail is set up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.app.messaging.service import Messaging
from segmentry.app.plugins import Destination, RunOutcome, hookimpl

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["segmentry_destinations"]


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    if workspace.settings.line is None and workspace.settings.email is None:
        return None

    def push(outcome: RunOutcome) -> str:
        reports = Messaging(workspace).continue_sends(locked=True)
        delivered = sum(r.counts.get("delivered", 0) for r in reports)
        waiting = sum(1 for r in reports if not r.finished)
        return f"{len(reports)} sends continued, {delivered} delivered, {waiting} still waiting"

    return [Destination("messages", push)]
