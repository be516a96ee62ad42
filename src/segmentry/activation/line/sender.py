"""LINE as a channel of the outbox (:class:`segmentry.app.messaging.sending.Channel`).

A batch of identical messages goes in one multicast (up to 500 users), a batch of one as a push;
both with the batch's ``X-Line-Retry-Key``, so asking again after a crash never delivers twice
(LINE answers the repeated key with 409). LINE's answer for a batch is the answer for each of
its rows. A bad token, an exhausted quota or a LINE that stays unreachable stops the send, and
the batch waits to be asked again with the same key. A campaign step's push or multicast
carries the step's aggregation unit (``customAggregationUnits``;
:func:`segmentry.app.campaigns.engagement.unit_of_send`), so LINE counts its impressions and
clicks, which :meth:`LineSender.unit_statistics` reads; a narrowcast cannot carry one.

Identical messages to at least ``narrowcast_from`` members are one batch sent by narrowcast:
the user ids are uploaded as an audience, the narrowcast carries the batch's retry key (asked
again after a crash, LINE answers 409 and names the request it accepted, whose progress is then
followed), and the progress is polled until LINE says ``succeeded`` or ``failed``. LINE reports
counts, never who: with failures, every row is settled ``delivered`` with the reason
``narrowcast_partial`` and LINE's counts in the detail; a ``failed`` narrowcast fails every row
with LINE's description. Past ``narrowcast_wait`` seconds the batch is left to the next
delivery pass (the same key finds the same request).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segmentry.activation.line.client import MAX_MULTICAST, LineClient
from segmentry.activation.line.messages import validate_messages
from segmentry.app.campaigns.engagement import unit_of_send
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import ChannelDownError, Outcome
from segmentry.core.errors import LineError
from segmentry.store.outbox import OutboxRow, Planned, Send

__all__ = ["LineSender"]


class LineSender:
    name = "line"
    batch_size = MAX_MULTICAST
    parallel = 8
    repeat_safe = True
    fields: frozenset[str] = frozenset()

    def __init__(
        self,
        client: LineClient,
        blocked: frozenset[str] = frozenset(),
        *,
        narrowcast_from: int = 5_000,
        narrowcast_wait: float = 600.0,
        poll_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self._blocked = blocked
        # Identical messages to this many members or more go as one narrowcast batch.
        self.large_batch: int | None = narrowcast_from
        self._wait, self._poll_every, self._clock = narrowcast_wait, poll_every, clock

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        user = (member.line_user_id or "").strip()
        if not user:
            return None, "unlinked"
        if member.line_blocked or user in self._blocked:  # blocked by that day (line_events)
            return None, "blocked"
        return user, None

    def values_for(self, member: Member) -> Mapping[str, object]:
        return {}

    def remaining_quota(self) -> int | None:
        try:
            return self.client.quota().remaining
        except LineError as e:
            raise _down(e) from e

    def check(self, row: Planned) -> str | None:
        try:
            validate_messages(_messages(row.body, row.flex))
        except LineError as e:
            return e.message
        return None

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> Sequence[Outcome]:
        messages = _messages(rows[0].body, rows[0].flex)
        users = [r.address for r in rows if r.address]
        try:
            if self.large_batch is not None and len(users) >= self.large_batch:
                return self._narrowcast(rows, users, messages, retry_key)
            unit = unit_of_send(send.key)  # a campaign step's: LINE counts its engagement
            if len(users) == 1:
                answer = self.client.push(users[0], messages, retry_key=retry_key, unit=unit)
            else:
                answer = self.client.multicast(users, messages, retry_key=retry_key, unit=unit)
        except LineError as e:
            if e.code == "line_invalid_message":
                return [Outcome(r.id, "failed", "invalid_message", e.message) for r in rows]
            raise _down(e) from e
        if answer.ok:
            return [Outcome(r.id, "delivered") for r in rows]
        detail = "; ".join([answer.reason or "", *answer.details]).strip("; ")
        return [Outcome(r.id, "failed", f"line_{answer.http_status}", detail) for r in rows]

    def unit_statistics(self, unit: str, day_from: dt.date,
                        day_to: dt.date) -> Mapping[str, Any]:
        """LINE's figures for aggregation ``unit`` (see
        :func:`segmentry.app.campaigns.engagement.read_line_engagement`)."""
        try:
            return self.client.unit_statistics(unit, day_from, day_to)
        except LineError as e:
            raise _down(e) from e

    def _narrowcast(self, rows: Sequence[OutboxRow], users: list[str],
                    messages: list[dict[str, Any]], retry_key: str) -> Sequence[Outcome]:
        audience = self.client.create_audience(f"segmentry {retry_key}", users)
        answer = self.client.narrowcast(audience, messages, retry_key=retry_key)
        if not answer.ok:
            detail = "; ".join([answer.reason or "", *answer.details]).strip("; ")
            return [Outcome(r.id, "failed", f"line_{answer.http_status}", detail) for r in rows]
        request = answer.accepted_request_id if answer.duplicate else answer.request_id
        assert request is not None
        deadline = self._clock() + self._wait
        while True:
            progress = self.client.narrowcast_progress(request)
            if progress.phase in ("succeeded", "failed"):
                break
            if self._clock() >= deadline:
                raise ChannelDownError(
                    "LINE has not finished the narrowcast {request} yet; the next delivery "
                    "pass follows it again.",
                    code="narrowcast_waiting", params={"request": request})
            self.client.backoff.sleep(self._poll_every)
        if progress.phase == "failed":
            return [Outcome(r.id, "failed", "narrowcast_failed", progress.failed_description)
                    for r in rows]
        if progress.failure:
            detail = (f"LINE: {progress.success or 0} delivered, {progress.failure} failed "
                      f"of {progress.target or len(users)}")
            return [Outcome(r.id, "delivered", "narrowcast_partial", detail) for r in rows]
        return [Outcome(r.id, "delivered") for r in rows]


def _messages(body: str | None, flex: str | None) -> list[dict[str, Any]]:
    """A text message, or a Flex message with ``body`` as its alternative text."""
    if flex is None:
        return [{"type": "text", "text": body or ""}]
    try:
        contents = json.loads(flex)
    except json.JSONDecodeError as e:
        raise LineError("The Flex message is not valid JSON: {problem}",
                        code="line_invalid_message", params={"problem": str(e)}) from e
    return [{"type": "flex", "altText": body or "", "contents": contents}]


def _down(error: LineError) -> ChannelDownError:
    return ChannelDownError(error.template, code=error.code, hint=error.hint_template,
                       params=error.params or None)
