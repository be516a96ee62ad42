"""LINE as a channel of the outbox (:class:`segmentry.app.messaging.sending.Channel`).

A batch of identical messages goes in one multicast (up to 500 users), a batch of one as a push;
both with the batch's ``X-Line-Retry-Key``, so asking again after a crash never delivers twice
(LINE answers the repeated key with 409). LINE's answer for a batch is the answer for each of
its rows. A bad token, an exhausted quota or a LINE that stays unreachable stops the send, and
the batch waits to be asked again with the same key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from segmentry.activation.line.client import LineClient
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import ChannelDown, Outcome
from segmentry.core.errors import LineError
from segmentry.store.outbox import OutboxRow, Send

__all__ = ["LineSender"]


class LineSender:
    name = "line"
    batch_size = 500
    repeat_safe = True
    fields: frozenset[str] = frozenset()

    def __init__(self, client: LineClient, blocked: frozenset[str] = frozenset()) -> None:
        self.client = client
        self._blocked = blocked

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

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> Sequence[Outcome]:
        messages = [{"type": "text", "text": rows[0].body or ""}]
        users = [r.address for r in rows if r.address]
        try:
            if len(users) == 1:
                answer = self.client.push(users[0], messages, retry_key=retry_key)
            else:
                answer = self.client.multicast(users, messages, retry_key=retry_key)
        except LineError as e:
            if e.code == "line_invalid_message":
                return [Outcome(r.id, "failed", "invalid_message", e.message) for r in rows]
            raise _down(e) from e
        if answer.ok:
            return [Outcome(r.id, "delivered") for r in rows]
        detail = "; ".join([answer.reason or "", *answer.details]).strip("; ")
        return [Outcome(r.id, "failed", f"line_{answer.http_status}", detail) for r in rows]


def _down(error: LineError) -> ChannelDown:
    return ChannelDown(error.template, code=error.code, hint=error.hint_template,
                       params=error.params or None)
