"""Messaging for the edges (CLI, web, Python): find the channel, resolve the segment, and plan,
preview, send, continue and report sends. Every write holds the workspace lock, so two sends
(or a send and the daily run) never deliver the same row at once.

In Python::

    m = Messaging(workspace)
    m.dry_run("vip", "line", Message("冬のセールのお知らせ"))   # a SendPlan; nothing stored
    m.send("vip", "line", Message("冬のセールのお知らせ"), key="winter-sale")  # a SendReport
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from segmentry.app.messaging.audience import members_of
from segmentry.app.messaging.sending import (
    Channel,
    SendPlan,
    SendReport,
    SendRequest,
    deliver,
    plan_send,
    send,
)
from segmentry.app.messaging.templates import ShopFacts
from segmentry.app.plugins import channels
from segmentry.app.segments import SegmentBook
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.errors import MessagingError, SegmentError, or_list
from segmentry.store import outbox
from segmentry.store.outbox import OutboxRow, Send

__all__ = ["CHANNELS", "DeliveryLog", "Message", "Messaging"]

CHANNELS = ("line", "email")


@dataclass(frozen=True)
class Message:
    """What to send: the text (a template), and for e-mail a subject and an HTML version."""

    body: str
    subject: str | None = None
    html: str | None = None
    transactional: bool = False
    language: str = "ja"
    flex: str | None = None  # LINE: a Flex message's contents (JSON template); body: altText


@dataclass(frozen=True)
class DeliveryLog:
    """A send with its rows per status, skipped/failed rows per reason, and some rows."""

    send: Send
    counts: dict[str, int]
    reasons: dict[str, int]
    rows: list[OutboxRow]


class Messaging:
    def __init__(self, context: Context, *, now: Callable[[], dt.datetime] = utcnow) -> None:
        self.context = context
        self.now = now
        self._channels: dict[str, Channel] | None = None

    # ------------------------------------------------------------ channels

    def channels(self) -> dict[str, Channel]:
        """The configured channels by name."""
        if self._channels is None:
            self._channels = channels(self.context)
        return self._channels

    def channel(self, name: str) -> Channel:
        if name not in CHANNELS:
            raise MessagingError(
                "There is no channel named {name!r}; the channels are {names}.",
                code="unknown_channel",
                params={"name": name, "names": or_list(list(CHANNELS))},
            )
        found = self.channels().get(name)
        if found is None:
            raise MessagingError(
                "The {name} channel is not set up in this workspace.",
                code="channel_not_configured",
                hint="Add its section to segmentry.toml (see docs/activation.md).",
                params={"name": name},
            )
        return found

    # ------------------------------------------------------------ sends

    def request(self, segment: str, message: Message, *, key: str = "",
                day: dt.date | None = None) -> SendRequest:
        """A send of ``message`` to ``segment``'s members on ``day`` (default: the last day
        its membership is computed for)."""
        found = SegmentBook(self.context).get(segment)
        if found.membership_key is None or found.computed_through is None:
            raise SegmentError(
                "Segment {name!r} has not been computed yet.",
                code="not_computed",
                params={"name": found.name},
            )
        return SendRequest(
            segment=found.name,
            membership_key=found.membership_key,
            day=day or found.computed_through,
            body=message.body,
            key=key,
            subject=message.subject,
            html=message.html,
            transactional=message.transactional,
            language=message.language,
            flex=message.flex,
        )

    def dry_run(self, segment: str, channel: str, message: Message, *,
                values: Mapping[str, object] | None = None) -> SendPlan:
        """Who would get what, who would be skipped and why, and the quota it would use.
        ``values``: names the templates may use beyond the customer's (a campaign's
        ``coupon``), the same for every member."""
        request = self.request(segment, message)
        if values:
            request = replace(request, values=dict(values))
        return plan_send(self.context, self.channel(channel), request, now=self.now())

    def preview(self, segment: str, channel: str, message: Message,
                customer_id: str | None = None, *,
                values: Mapping[str, object] | None = None
                ) -> tuple[str, str | None, str | None]:
        """The message one member would get: (customer id, body, subject). The first member by
        customer id when none is named; a member the channel would skip gets ``None`` and the
        reason as the subject."""
        plan = self.dry_run(segment, channel, message, values=values)
        rows = sorted(plan.rows, key=lambda r: r.customer_id)
        if customer_id is not None:
            rows = [r for r in rows if r.customer_id == customer_id]
            if not rows:
                raise MessagingError(
                    "Customer {customer} is not a member of {segment} on that day.",
                    code="not_a_member",
                    params={"customer": customer_id, "segment": segment},
                )
        else:
            rows = [r for r in rows if r.status != "skipped"] or rows
        if not rows:
            raise MessagingError("Segment {segment} has no members on that day.",
                                 code="no_members", params={"segment": segment})
        row = rows[0]
        if row.status == "skipped":
            return row.customer_id, None, row.reason
        return row.customer_id, row.body, row.subject

    def send(self, segment: str, channel: str, message: Message, *, key: str = "",
             resend_uncertain: bool = False) -> SendReport:
        """Plan the send into the outbox and deliver what is due now (see
        :func:`segmentry.app.messaging.sending.send`)."""
        request = self.request(segment, message, key=key)
        with self.context.lock(f"send {segment} by {channel}"):
            return send(self.context, self.channel(channel), request, now=self.now,
                        resend_uncertain=resend_uncertain)

    def continue_sends(self, *, locked: bool = False) -> list[SendReport]:
        """Deliver what is due of every unfinished send (quiet hours over, a channel back).
        ``locked``: the caller already holds the workspace lock (the daily run)."""
        with self.context.state.begin() as conn:
            waiting = outbox.unfinished_sends(conn)
        if not waiting:
            return []
        if locked:
            return self._deliver_all(waiting)
        with self.context.lock("send continue"):
            return self._deliver_all(waiting)

    def _deliver_all(self, waiting: list[Send]) -> list[SendReport]:
        return [deliver(self.context, self.channel(s.channel), s.id, now=self.now)
                for s in waiting]

    def resend_uncertain(self, key: str) -> SendReport:
        """Send once more the rows an interruption left ``uncertain`` (e-mail)."""
        found = self._send(key)
        with self.context.lock(f"send {key}"):
            return deliver(self.context, self.channel(found.channel), found.id, now=self.now,
                           resend_uncertain=True)

    # ------------------------------------------------------------ reading

    def recent(self, limit: int = 50) -> list[tuple[Send, dict[str, int]]]:
        """The latest sends, newest first, with their rows per status."""
        with self.context.state.begin() as conn:
            return [(s, outbox.counts(conn, s.id)) for s in outbox.recent_sends(conn, limit)]

    def log(self, key: str, *, status: str | None = None, limit: int = 100,
            offset: int = 0) -> DeliveryLog:
        """A send's counts per status, skipped and failed rows per reason, and a page of its
        rows (``limit`` from ``offset``, optionally of one ``status``)."""
        found = self._send(key)
        with self.context.state.begin() as conn:
            return DeliveryLog(found, outbox.counts(conn, found.id),
                               outbox.skipped_reasons(conn, found.id),
                               outbox.log(conn, found.id, status=status, limit=limit,
                                          offset=offset))

    def shop(self, language: str) -> ShopFacts:
        shop = self.context.settings.shop
        return ShopFacts(shop.name, shop.currency, language, shop.timezone)

    def members(self, segment: str, day: dt.date | None = None) -> int:
        request = self.request(segment, Message(""), day=day)
        return sum(1 for _ in members_of(self.context.warehouse, request.membership_key,
                                         request.day))

    def _send(self, key: str) -> Send:
        with self.context.state.begin() as conn:
            found = outbox.find_send(conn, key)
        if found is None:
            raise MessagingError("There is no send with the key {key!r}.", code="unknown_send",
                                 params={"key": key})
        return found
