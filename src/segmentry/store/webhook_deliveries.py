"""Outgoing webhook deliveries (``webhook_deliveries``) and their receivers
(``webhook_receivers``): every signed POST is written here, payload and all, before it is sent,
and marked ``delivered`` or ``failed`` after (:mod:`segmentry.activation.webhooks`).

A delivery is planned once per (receiver, event, subject, part): the unique constraint makes
planning the same day or send again a no-op, so a rerun never sends a delivered one again.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> at = dt.datetime(2026, 11, 30, 9, 0)
>>> new = NewDelivery("d-1", "crm", "membership", "2026-11-30", 0, "{}")
>>> with engine.begin() as conn:
...     first, again = add(conn, [new], at=at), add(conn, [new], at=at)
...     (first, again), [d.id for d in due(conn, "crm")], planned(conn, "crm", "membership",
...                                                                "2026-11-30")
((1, 0), ['d-1'], True)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import outbox, sends
from segmentry.store.schema import webhook_deliveries as deliveries
from segmentry.store.schema import webhook_receivers as receivers

__all__ = [
    "Delivery",
    "NewDelivery",
    "add",
    "counts",
    "due",
    "finished_sends",
    "mark",
    "planned",
    "receiver_since",
    "send_rows",
]


@dataclass(frozen=True)
class NewDelivery:
    id: str
    receiver: str
    event: str  # membership, sends
    subject: str  # the day (membership) or "send <id>"
    part: int
    payload: str  # the JSON body, exactly as it is signed and sent


@dataclass(frozen=True)
class Delivery:
    id: str
    receiver: str
    event: str
    subject: str
    part: int
    payload: str
    status: str  # pending, delivered, failed
    attempts: int
    http_status: int | None
    last_error: str | None


def receiver_since(conn: sa.Connection, name: str, *, at: dt.datetime) -> dt.datetime:
    """When the receiver ``name`` was first seen (now, the first time it is asked)."""
    since = conn.execute(sa.select(receivers.c.since).where(receivers.c.name == name)).scalar()
    if since is None:
        conn.execute(receivers.insert().values(name=name, since=at))
        return at
    return since


def planned(conn: sa.Connection, receiver: str, event: str, subject: str) -> bool:
    """Whether deliveries of ``event`` about ``subject`` were planned for ``receiver``."""
    found = conn.execute(
        sa.select(deliveries.c.id).where(
            deliveries.c.receiver == receiver, deliveries.c.event == event,
            deliveries.c.subject == subject,
        ).limit(1)
    ).first()
    return found is not None


def add(conn: sa.Connection, new: Iterable[NewDelivery], *, at: dt.datetime) -> int:
    """Record deliveries as ``pending``; one already recorded (same id) is left as it is.
    The number added."""
    known = set()
    rows = []
    for d in new:
        if d.id in known:
            continue
        known.add(d.id)
        rows.append(d)
    if not rows:
        return 0
    existing = set(conn.execute(
        sa.select(deliveries.c.id).where(deliveries.c.id.in_([d.id for d in rows]))).scalars())
    fresh = [
        {"id": d.id, "receiver": d.receiver, "event": d.event, "subject": d.subject,
         "part": d.part, "payload": d.payload, "status": "pending", "attempts": 0,
         "created_at": at, "updated_at": at}
        for d in rows if d.id not in existing
    ]
    if fresh:
        conn.execute(deliveries.insert(), fresh)
    return len(fresh)


def due(conn: sa.Connection, receiver: str) -> list[Delivery]:
    """The receiver's pending deliveries, oldest first."""
    rows = conn.execute(
        sa.select(*_columns()).where(deliveries.c.receiver == receiver,
                                     deliveries.c.status == "pending")
        .order_by(deliveries.c.created_at, deliveries.c.subject, deliveries.c.event,
                  deliveries.c.part)
    )
    return [Delivery(**row) for row in rows.mappings()]


def mark(conn: sa.Connection, delivery_id: str, status: str, *, at: dt.datetime,
         attempts: int, http_status: int | None = None, error: str | None = None) -> None:
    """Record what came of ``attempts`` more attempts: ``delivered``, ``failed`` (for good), or
    still ``pending`` (tried again on the next pass)."""
    conn.execute(
        deliveries.update().where(deliveries.c.id == delivery_id).values(
            status=status, attempts=deliveries.c.attempts + attempts, http_status=http_status,
            last_error=error, updated_at=at,
            delivered_at=at if status == "delivered" else None,
        )
    )


def counts(conn: sa.Connection, receiver: str) -> dict[str, int]:
    """Deliveries of ``receiver`` per status."""
    rows = conn.execute(
        sa.select(deliveries.c.status, sa.func.count()).where(deliveries.c.receiver == receiver)
        .group_by(deliveries.c.status)
    )
    return {status: int(n) for status, n in rows}


def finished_sends(conn: sa.Connection, receiver: str, since: dt.datetime) -> list[int]:
    """Ids of the sends finished at or after ``since`` whose events were not yet planned for
    ``receiver``."""
    subject = sa.literal("send ") + sa.cast(sends.c.id, sa.String)
    reported = sa.select(deliveries.c.id).where(
        deliveries.c.receiver == receiver, deliveries.c.event == "sends",
        deliveries.c.subject == subject,
    )
    rows = conn.execute(
        sa.select(sends.c.id).where(sends.c.finished_at.is_not(None),
                                    sends.c.finished_at >= since, ~sa.exists(reported))
        .order_by(sends.c.id)
    )
    return [int(r) for r in rows.scalars()]


def send_rows(conn: sa.Connection, send_id: int) -> list[dict[str, object]]:
    """``(customer_id, status, reason, delivered_at)`` of each outbox row of a send, by
    customer id."""
    rows = conn.execute(
        sa.select(outbox.c.customer_id, outbox.c.status, outbox.c.reason, outbox.c.delivered_at)
        .where(outbox.c.send_id == send_id).order_by(outbox.c.customer_id)
    )
    return [dict(r) for r in rows.mappings()]


def _columns() -> Sequence[sa.Column[object]]:
    c = deliveries.c
    return [c.id, c.receiver, c.event, c.subject, c.part, c.payload, c.status, c.attempts,
            c.http_status, c.last_error]
