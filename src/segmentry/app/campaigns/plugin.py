"""Campaigns advance after every daily run (a destination, :mod:`segmentry.app.plugins`): the
day's joiners enter, those due take their next step, and what is due is sent — recorded as the
run's ``campaigns`` stage — then LINE's engagement figures of the campaigns' steps are read
(:func:`~segmentry.app.campaigns.engagement.refresh_line_engagement`). Registered after the
``messages`` stage's plug-in, so it runs before it (pluggy calls the latest registered first)
and the messages stage continues what is left. Offered when the workspace has a campaign."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.campaigns.engagement import refresh_line_engagement
from segmentry.app.plugins import Destination, RunOutcome, hookimpl
from segmentry.store import campaigns as store

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["segmentry_destinations"]


@hookimpl
def segmentry_destinations(workspace: Context) -> list[Destination] | None:
    with workspace.state.begin() as conn:
        if not store.all_campaigns(conn):
            return None

    def push(outcome: RunOutcome) -> str:
        service = Campaigns(workspace)
        reports = service.run(locked=True)
        active = [r for r in reports if not r.note]
        entered = sum(sum(r.entered.values()) for r in active)
        stepped = sum(n for r in active for counts in r.steps.values()
                      for group, n in counts.items() if group != "passed")
        delivered = sum(s.counts.get("delivered", 0) for r in active for s in r.sends)
        engagement = refresh_line_engagement(service)
        return (f"{len(active)} campaigns advanced, {entered} entered, {stepped} took a step, "
                f"{delivered} delivered" + (f"; {engagement}" if engagement else ""))

    return [Destination("campaigns", push)]
