"""A send, exactly once: planned whole into the outbox, then delivered batch by batch.

1. **Plan** (one state-store transaction): the segment's members on the day, each either
   rendered into a ``pending`` row or ``skipped`` with the reason — no consent
   (``not_subscribed``), no address (``unlinked``), blocked the account (``blocked``), over a
   frequency cap (``capped``), or the template cannot be filled for them (``template``).
   Identical messages are grouped in batches the channel can send at once (LINE's multicast:
   up to 500); each batch gets its retry key now. A send the channel's quota cannot carry is
   refused before anything is stored.
2. **Deliver**: each due batch is marked ``sending`` and committed, handed to the channel with
   its retry key, and its rows settled ``delivered`` / ``failed`` as the platform answered.
   Rows inside quiet hours wait (``not_before``) for a later :func:`deliver`.

A crash anywhere leaves rows ``pending`` or ``sending``; :func:`deliver` (or asking for the same
send again: the key finds it) picks them up. A ``sending`` row is asked again with the same retry
key, which LINE answers without sending twice (409). E-mail has no such key (SMTP cannot tell
whether a message it accepted was the one asked for again): a channel that cannot repeat a
request safely says so (:attr:`Channel.repeat_safe`), and its interrupted rows are settled
``uncertain`` instead of being sent twice, counted in the log, and sent again only when asked
(``resend_uncertain``). See docs/activation.md.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import sqlalchemy as sa

from segmentry.app.messaging.audience import Member, Recommending, members_of
from segmentry.app.messaging.rules import FrequencyCap, QuietHours, parse_quiet_hours
from segmentry.app.messaging.templates import (
    MessageTemplate,
    ShopFacts,
    compile_template,
    context_of,
)
from segmentry.core.clock import utcnow
from segmentry.core.context import Context
from segmentry.core.crash_points import crash_point
from segmentry.core.errors import MessagingError
from segmentry.core.memory import collector_paused
from segmentry.store import outbox
from segmentry.store.outbox import NewSend, OutboxRow, Planned, Send

__all__ = [
    "Channel",
    "ChannelDownError",
    "Outcome",
    "SendPlan",
    "SendReport",
    "SendRequest",
    "deliver",
    "plan_send",
    "send",
]


@dataclass(frozen=True)
class Outcome:
    """What the platform said about one outbox row."""

    row_id: int
    status: str  # delivered, failed
    reason: str | None = None
    detail: str | None = None


class ChannelDownError(MessagingError):
    """The channel cannot be used at all (unreachable, bad credentials): nothing of the batch
    was delivered. The send stops; the batch waits to be asked again."""


class Channel(Protocol):
    """A way to reach customers (LINE, e-mail), provided by an activation plug-in."""

    name: str
    # Rows with the same message sent in one request (LINE multicast: 500); 1 = one by one.
    batch_size: int
    # Identical rows at least this many are one batch (LINE narrowcast); None: never.
    large_batch: int | None
    # Batches asked at the same time (the platform's rate limit still holds: the client paces).
    parallel: int
    # True when asking the platform again with the same retry key never delivers twice.
    repeat_safe: bool
    # Names a template may use that this channel fills per member (``unsubscribe_url``).
    fields: frozenset[str]

    def values_for(self, member: Member) -> Mapping[str, object]:
        """The values of :attr:`fields` for one member."""
        ...

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        """The member's address on this channel, or ``(None, reason)`` to skip them."""
        ...

    def remaining_quota(self) -> int | None:
        """Messages this channel may still send this month, or None when unlimited."""
        ...

    def check(self, row: Planned) -> str | None:
        """Why the platform would refuse this rendered message (LINE's limits, a Flex message
        its model refuses), or None."""
        ...

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> Sequence[Outcome]:
        """Send one batch of ``send``. Raise :class:`ChannelDownError` when nothing of it could be
        delivered (a bad token, no server): the send stops, the batch is asked again later."""
        ...


@dataclass(frozen=True)
class SendRequest:
    segment: str
    membership_key: str
    day: dt.date
    body: str
    key: str = ""  # asking twice with the same key finds the first send; default: a new one
    subject: str | None = None
    html: str | None = None
    transactional: bool = False
    language: str = "ja"
    flex: str | None = None  # LINE: a Flex message's contents (a JSON template); body: altText
    values: dict[str, object] = field(default_factory=dict)
    # Values of one customer each (customer id → name → value: a campaign's ``coupon``); a
    # customer without theirs is skipped (reason ``template``), never sent a blank.
    customer_values: dict[str, dict[str, object]] = field(default_factory=dict)
    customer_fields: frozenset[str] = frozenset()  # the names customer_values fill
    # Only these members (a campaign's treated customers of one step); None: every member.
    customers: frozenset[str] | None = None


@dataclass
class SendPlan:
    """What a send would do (a dry run), or did plan."""

    channel: str
    recipients: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    quota_left: int | None = None
    waiting_for_quiet_hours: int = 0
    rows: list[Planned] = field(default_factory=list, repr=False)


@dataclass(frozen=True)
class SendReport:
    send_id: int
    key: str
    counts: dict[str, int]
    reasons: dict[str, int]
    finished: bool


def plan_send(
    context: Context, channel: Channel, request: SendRequest, *, now: dt.datetime | None = None
) -> SendPlan:
    """Who would get what: recipients, skipped members per reason, quota use. Stores nothing."""
    now = now or utcnow()
    templates = _templates(request, channel.fields)
    shop = ShopFacts(context.settings.shop.name, context.settings.shop.currency,
                     request.language, context.settings.shop.timezone)
    caps = _caps(context, channel.name, now)
    quiet = parse_quiet_hours(context.settings.messaging.quiet_hours)
    not_before = _not_before(quiet, now, context.settings.shop.timezone)
    plan = SendPlan(channel.name, quota_left=channel.remaining_quota())
    # Recommendations are read only for a message that shows them.
    recommending = (Recommending(context.settings.shop.id,
                                 context.settings.messaging.product_url)
                    if templates.name("recommended_products") else None)
    with collector_paused():  # a million rows stay alive until they are stored
        members = members_of(context.warehouse, request.membership_key, request.day,
                             recommending, request.customers)
        for row in _plan_rows(members, channel, request, templates, shop, caps):
            if row.status == "skipped":
                plan.skipped[row.reason or ""] = plan.skipped.get(row.reason or "", 0) + 1
            else:
                plan.recipients += 1
                row = _at(row, not_before)
            plan.rows.append(row)
        if not_before is not None:
            plan.waiting_for_quiet_hours = plan.recipients
        plan.rows = list(_batched(plan.rows, channel.batch_size, channel.large_batch))
    return plan


def send(
    context: Context,
    channel: Channel,
    request: SendRequest,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    resend_uncertain: bool = False,
) -> SendReport:
    """Plan ``request`` into the outbox (unless its key already has a send) and deliver what
    is due. Refused with :class:`MessagingError` when the channel's quota cannot carry it."""
    key = request.key or f"send-{uuid.uuid4()}"
    with context.state.begin() as conn:
        existing = outbox.find_send(conn, key)
    if existing is None:
        with collector_paused():  # until the planned rows are stored (see plan_send)
            send_id = _plan_into_outbox(context, channel, request, key, now)
        crash_point("send-planned")
    else:
        send_id = existing.id
    return deliver(context, channel, send_id, now=now, resend_uncertain=resend_uncertain)


def _plan_into_outbox(context: Context, channel: Channel, request: SendRequest, key: str,
                      now: Callable[[], dt.datetime]) -> int:
    """Plan ``request`` and store the send under ``key`` with its rows; the send's id."""
    plan = plan_send(context, channel, request, now=now())
    if plan.quota_left is not None and plan.recipients > plan.quota_left:
        raise MessagingError(
            "This send needs {needed:,} messages but only {left:,} are left of the "
            "channel's quota this month.",
            code="quota_exceeded",
            hint="Send to a smaller segment, or raise the plan's message limit.",
            params={"needed": plan.recipients, "left": plan.quota_left},
        )
    with context.state.begin() as conn:
        send_id = outbox.create_send(
            conn,
            NewSend(key, request.segment, channel.name, request.language, request.body,
                    request.subject, request.html, request.transactional, request.flex),
            at=now(),
        )
        outbox.plan(conn, send_id, channel.name, plan.rows, at=now())
    return send_id


def deliver(
    context: Context,
    channel: Channel,
    send_id: int,
    *,
    now: Callable[[], dt.datetime] = utcnow,
    resend_uncertain: bool = False,
) -> SendReport:
    """Deliver the due batches of a planned send; finish it when nothing is left."""
    if resend_uncertain:
        with context.state.begin() as conn:
            outbox.reopen_uncertain(conn, send_id, at=now())
    with context.state.begin() as conn:
        due = outbox.due_batches(conn, send_id, now())
        the_send = outbox.send_by_id(conn, send_id)
    parallel = max(1, channel.parallel)
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for start in range(0, len(due), parallel):
            group = _claim(context, channel, send_id, due[start : start + parallel], now)
            for _ in group:
                crash_point("send-batch-marked")
            answers = list(pool.map(lambda rows: _ask(channel, the_send, rows), group))
            for _ in group:
                crash_point("send-batch-answered")
            _record(context, group, answers, now)
    with context.state.begin() as conn:
        counts = outbox.counts(conn, send_id)
        finished = not any(counts.get(s, 0) for s in outbox.OPEN)
        if finished:
            outbox.finish(conn, send_id, at=now())
        reasons = outbox.skipped_reasons(conn, send_id)
    return SendReport(send_id, the_send.key, counts, reasons, finished)


def _claim(
    context: Context, channel: Channel, send_id: int, numbers: Sequence[int],
    now: Callable[[], dt.datetime],
) -> list[list[OutboxRow]]:
    """Mark the batches ``numbers`` sending (one transaction); their rows still to deliver. An
    interrupted row of a channel that cannot be asked twice is settled ``uncertain``."""
    group: list[list[OutboxRow]] = []
    with context.state.begin() as conn:
        for number in numbers:
            rows = outbox.batch(conn, send_id, number)
            interrupted = [r.id for r in rows if r.status == "sending"]
            if interrupted and not channel.repeat_safe:
                outbox.settle(conn, interrupted, "uncertain", at=now(), reason="interrupted")
                rows = [r for r in rows if r.status != "sending"]
            if rows:
                outbox.mark_sending(conn, [r.id for r in rows], at=now())
                group.append(rows)
    return group


_Answer = Sequence[Outcome] | ChannelDownError


def _ask(channel: Channel, send: Send, rows: list[OutboxRow]) -> _Answer:
    try:
        return channel.deliver(send, rows, rows[0].retry_key)
    except ChannelDownError as e:
        return e


def _record(
    context: Context, group: list[list[OutboxRow]], answers: list[_Answer],
    now: Callable[[], dt.datetime],
) -> None:
    """Settle what the platform answered (one transaction); the batches of a channel that was
    down wait for the next pass, and the first such error stops the send."""
    down: ChannelDownError | None = None
    with context.state.begin() as conn:
        for rows, answer in zip(group, answers, strict=True):
            if isinstance(answer, ChannelDownError):
                outbox.reopen(conn, [r.id for r in rows], at=now())
                down = down or answer
            else:
                _settle(conn, answer, now())
    if down is not None:
        raise down


def _settle(conn: sa.Connection, outcomes: Iterable[Outcome], at: dt.datetime) -> None:
    groups: dict[tuple[str, str | None, str | None], list[int]] = {}
    for o in outcomes:
        groups.setdefault((o.status, o.reason, o.detail), []).append(o.row_id)
    for (status, reason, detail), ids in groups.items():
        outbox.settle(conn, ids, status, at=at, reason=reason, detail=detail)


@dataclass(frozen=True)
class _Templates:
    body: MessageTemplate
    subject: MessageTemplate | None
    html: MessageTemplate | None
    flex: MessageTemplate | None

    def name(self, name: str) -> bool:
        """Whether any of the templates names ``name``."""
        return any(t is not None and name in t.source
                   for t in (self.body, self.subject, self.html, self.flex))


def _templates(request: SendRequest, fields: frozenset[str]) -> _Templates:
    extra = set(request.values) | request.customer_fields | fields

    def compiled(source: str | None, **kind: bool) -> MessageTemplate | None:
        return compile_template(source, extra=extra, **kind) if source else None

    body = compile_template(request.body, extra=extra)
    return _Templates(body, compiled(request.subject), compiled(request.html, html=True),
                      compiled(request.flex, json_text=True))


# Members planned together: their messages are rendered in one go (see render_many).
_PLAN_AT_ONCE = 4096


def _plan_rows(
    members: Iterable[Member],
    channel: Channel,
    request: SendRequest,
    templates: _Templates,
    shop: ShopFacts,
    caps: Sequence[tuple[FrequencyCap, dict[str, int]]],
) -> Iterator[Planned]:
    """Each member's row, in order: skipped with the reason, or rendered."""
    chunk: list[Member] = []
    for member in members:
        chunk.append(member)
        if len(chunk) == _PLAN_AT_ONCE:
            yield from _plan_chunk(chunk, channel, request, templates, shop, caps)
            chunk = []
    yield from _plan_chunk(chunk, channel, request, templates, shop, caps)


def _plan_chunk(
    members: Sequence[Member],
    channel: Channel,
    request: SendRequest,
    templates: _Templates,
    shop: ShopFacts,
    caps: Sequence[tuple[FrequencyCap, dict[str, int]]],
) -> list[Planned]:
    rows: list[Planned] = []
    reached: list[tuple[int, Member]] = []  # (index in rows, member) of those to render for
    for member in members:
        customer = member.recipient.customer_id
        address, reason = channel.address(member, transactional=request.transactional)
        if address is None:
            rows.append(Planned(customer, None, status="skipped", reason=reason or "unlinked"))
        elif not request.transactional and any(
            not cap.allows(sent=sent.get(customer, 0)) for cap, sent in caps
        ):
            rows.append(Planned(customer, address, status="skipped", reason="capped"))
        else:
            reached.append((len(rows), member))
            rows.append(Planned(customer, address))
    if not reached:
        return rows
    own = request.customer_values
    contexts = [{**context_of(member.recipient, shop), **request.values,
                 **own.get(member.recipient.customer_id, {}),
                 **channel.values_for(member)} for _, member in reached]
    rendered = [t.render_many(contexts) if t else None
                for t in (templates.body, templates.subject, templates.html, templates.flex)]
    for i, (at, _) in enumerate(reached):
        row = rows[at]
        messages = [None if r is None else r[i] for r in rendered]
        error = next((m for m in messages if isinstance(m, MessagingError)), None)
        if error is not None:
            rows[at] = Planned(row.customer_id, row.address, status="skipped", reason="template",
                               body=error.message)
            continue
        row.body, row.subject, row.html, row.flex = messages  # type: ignore[assignment]
        problem = channel.check(row)
        if problem is not None:
            rows[at] = Planned(row.customer_id, row.address, status="skipped",
                               reason="invalid_message", body=problem)
    return rows


def _batched(rows: Sequence[Planned], size: int, large: int | None = None) -> Iterable[Planned]:
    """Rows with their batch and retry key: identical messages together, ``size`` at most
    (``large`` or more identical ones: all in one batch)."""
    if size == 1:  # personal messages: each row its own batch, in plan order
        yield from _one_per_batch(rows)
        return
    groups: dict[tuple[object, ...], list[Planned]] = {}
    skipped: list[Planned] = []
    for row in rows:
        if row.status == "skipped":
            skipped.append(row)
            continue
        same = (row.body, row.subject, row.html, row.flex, row.not_before)
        groups.setdefault(same, []).append(row)
    number = 0
    for members in groups.values():
        step = len(members) if large is not None and len(members) >= large else size
        for start in range(0, len(members), step):
            key = str(uuid.uuid4())
            for row in members[start : start + step]:
                row.batch, row.retry_key = number, key
                yield row
            number += 1
    for row in skipped:
        row.batch, row.retry_key = -1, ""
        yield row


def _one_per_batch(rows: Sequence[Planned]) -> Iterable[Planned]:
    """Each row to deliver its own batch with its own retry key (random UUIDs, made 4,096 at a
    time from one read of the system's random source); skipped rows after them."""
    number = 0
    keys: Iterator[str] = iter(())
    for row in rows:
        if row.status == "skipped":
            continue
        key = next(keys, None)
        if key is None:
            keys = _random_uuids(4096)
            key = next(keys)
        row.batch, row.retry_key = number, key
        number += 1
        yield row
    for row in rows:
        if row.status == "skipped":
            row.batch, row.retry_key = -1, ""
            yield row


def _random_uuids(count: int) -> Iterator[str]:
    """``count`` version-4 UUIDs as text, the same as ``str(uuid.uuid4())`` makes.

    >>> keys = list(_random_uuids(3))
    >>> all(uuid.UUID(k).version == 4 and str(uuid.UUID(k)) == k for k in keys)
    True
    >>> len(set(keys))
    3
    """
    random = os.urandom(16 * count)
    for start in range(0, 16 * count, 16):
        yield str(uuid.UUID(bytes=random[start:start + 16], version=4))


def _at(row: Planned, not_before: dt.datetime | None) -> Planned:
    if not_before is not None:
        row.not_before = not_before
    return row


def _not_before(quiet: QuietHours | None, now: dt.datetime, timezone: str) -> dt.datetime | None:
    if quiet is None:
        return None
    aware = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    allowed = quiet.next_allowed(aware, timezone)
    return None if allowed == aware else allowed.replace(tzinfo=None)


def _caps(
    context: Context, channel: str, now: dt.datetime
) -> list[tuple[FrequencyCap, dict[str, int]]]:
    """The channel's caps, each with the messages delivered per customer in its window."""
    caps = [FrequencyCap(c.channel, c.messages, c.days)
            for c in context.settings.messaging.caps if c.channel == channel]
    with context.state.begin() as conn:
        return [(cap, outbox.delivered_since(conn, channel, now - dt.timedelta(days=cap.days)))
                for cap in caps]
