"""Outgoing webhooks for a workspace: plan what is due for every ``[[webhooks]]`` receiver
into the state store, then POST it (:mod:`.delivery`).

:func:`push_webhooks` is what the daily run's ``webhooks`` stage does (with the run's outcome);
called without one (say, right after ``segmentry send``) it reports the sends finished since
and retries what is pending.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from segmentry.activation.webhooks.delivery import Retrying, Tally, post_due
from segmentry.activation.webhooks.events import membership_deliveries, send_deliveries
from segmentry.app.plugins import RunOutcome
from segmentry.core.clock import utcnow
from segmentry.core.config import WebhookSettings
from segmentry.core.context import Context
from segmentry.core.errors import MessagingError
from segmentry.core.secrets import load_secret
from segmentry.store import webhook_deliveries

__all__ = ["WebhookReport", "push_webhooks", "secret_name"]


def secret_name(receiver: str) -> str:
    """The receiver's signing secret's name in the workspace's ``secrets`` file.

    >>> secret_name("crm")
    'webhook_crm'
    """
    return f"webhook_{receiver}"


@dataclass(frozen=True)
class WebhookReport:
    """What one pass did, per receiver."""

    tallies: dict[str, Tally]

    def detail(self) -> str:
        return "; ".join(
            f"{name}: {t.delivered} delivered, {t.failed} failed, {t.waiting} waiting"
            for name, t in self.tallies.items())


def push_webhooks(context: Context, outcome: RunOutcome | None = None, *,
                  retrying: Retrying | None = None,
                  now: Callable[[], dt.datetime] = utcnow) -> WebhookReport:
    """Plan and POST what is due for every receiver. Raises :class:`MessagingError` when a
    receiver has no secret or did not take what was due (it is kept for the next pass), after
    every receiver was tried."""
    retrying = retrying or Retrying()
    tallies: dict[str, Tally] = {}
    problems: list[MessagingError] = []
    for receiver in context.settings.webhooks:
        secret = load_secret(context.folder, secret_name(receiver.name), receiver.secret_env)
        if not secret:
            problems.append(MessagingError(
                "No signing secret for the webhook {name}: nothing was sent to it.",
                code="webhook_no_secret",
                hint="Set {env}, or store the secret in the workspace's secrets file as {secret}.",
                params={"name": receiver.name, "env": receiver.secret_env or "secret_env",
                        "secret": secret_name(receiver.name)}))
            continue
        _plan(context, receiver, outcome, now())
        with httpx.Client(timeout=receiver.timeout) as client:
            tally = post_due(context.state, client, receiver=receiver.name, url=receiver.url,
                             secret=secret, retrying=retrying, now=now)
        tallies[receiver.name] = tally
        if tally.waiting:
            problems.append(MessagingError(
                "The webhook {name} ({url}) did not take {waiting} deliveries: {error}",
                code="webhook_unreachable",
                hint="They are kept and sent again after the next run.",
                params={"name": receiver.name, "url": receiver.url, "waiting": tally.waiting,
                        "error": tally.errors[-1]}))
    if problems:
        raise problems[0]
    return WebhookReport(tallies)


def _plan(context: Context, receiver: WebhookSettings, outcome: RunOutcome | None,
          at: dt.datetime) -> None:
    """Record the deliveries now due for ``receiver`` (in one transaction)."""
    with context.state.begin() as conn:
        since = webhook_deliveries.receiver_since(conn, receiver.name, at=at)
        new = []
        if outcome is not None and "membership" in receiver.events:
            moved = [s for s in sorted(set(outcome.joined) | set(outcome.left))
                     if outcome.joined.get(s, 0) or outcome.left.get(s, 0)]
            new += membership_deliveries(
                conn, context.warehouse, receiver=receiver.name, shop=context.settings.shop.id,
                day=outcome.day, run_id=outcome.run_id, moved=moved,
                batch_size=receiver.batch_size)
        if "sends" in receiver.events:
            for send_id in webhook_deliveries.finished_sends(conn, receiver.name, since):
                new += send_deliveries(conn, receiver=receiver.name,
                                       shop=context.settings.shop.id, send_id=send_id,
                                       batch_size=receiver.batch_size)
        webhook_deliveries.add(conn, new, at=at)
