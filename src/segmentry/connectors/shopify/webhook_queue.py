"""The queue of received Shopify webhooks in the state store (``tables.webhooks``).

Receivers add deliveries (:meth:`WebhookQueue.add`); whichever process owns the warehouse reads
the due ones (:meth:`WebhookQueue.due`) and marks each applied, waiting (attempts counted, next
try after :func:`retry_delay`, last error kept) or failed for good (see
:mod:`segmentry.connectors.shopify.webhooks`). ``segmentry shopify webhooks``, ``GET
/api/webhooks`` and the Runs page read its counts and lists.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from segmentry.app.erasure import mentions
from segmentry.connectors.shopify import tables
from segmentry.core.clock import utcnow

__all__ = ["BATCH", "Delivery", "Drained", "WebhookQueue", "retry_delay"]

FIRST_RETRY = 5.0  # seconds before the first retry of a delivery that had to wait
RETRY_CAP = 3600.0  # the longest wait between two tries
BATCH = 500  # deliveries applied per turn (the workspace lock is held that long)


def retry_delay(attempts: int) -> dt.timedelta:
    """How long a delivery waits after its ``attempts``-th try had to wait: doubling from
    :data:`FIRST_RETRY`, at most :data:`RETRY_CAP`.

    >>> [retry_delay(n).total_seconds() for n in (1, 2, 3, 20)]
    [5.0, 10.0, 20.0, 3600.0]
    """
    seconds = FIRST_RETRY * 2 ** min(max(attempts - 1, 0), 30)
    return dt.timedelta(seconds=min(seconds, RETRY_CAP))


@dataclass(frozen=True)
class Delivery:
    """One queued webhook."""

    webhook_id: str
    topic: str
    body: bytes
    received_at: dt.datetime
    triggered_at: str | None = None
    attempts: int = 0


@dataclass
class Drained:
    """What one turn of applying the queue did."""

    applied: int = 0
    waiting: int = 0  # left pending for a later try
    failed: int = 0  # failed for good
    busy: str | None = None  # why the warehouse could not be used, if it could not

    def __str__(self) -> str:
        text = f"{self.applied} applied, {self.waiting} waiting, {self.failed} failed"
        return text + (f" (warehouse busy: {self.busy})" if self.busy else "")


class WebhookQueue:
    """The deliveries in the state store (``tables.webhooks``), read and updated by id."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def existing(cls, engine: sa.Engine) -> WebhookQueue | None:
        """The queue, if this state store ever received a webhook (else None)."""
        with engine.connect() as conn:
            received = conn.execute(sa.select(tables.webhooks.c.webhook_id).limit(1)).first()
        return None if received is None else cls(engine)

    def add(self, row: Mapping[str, Any]) -> bool:
        """Queue a delivery; False when its webhook id is already known (a repeat)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(sa.insert(tables.webhooks).values(**row))
        except sa.exc.IntegrityError:
            return False
        return True

    def _due_filter(self, now: dt.datetime) -> sa.ColumnElement[bool]:
        t = tables.webhooks
        return sa.and_(
            t.c.status == "pending",
            sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
        )

    def due(self, now: dt.datetime | None = None, limit: int = BATCH) -> list[Delivery]:
        """Pending deliveries whose time has come, oldest first."""
        t = tables.webhooks
        query = (
            sa.select(
                t.c.webhook_id, t.c.topic, t.c.body, t.c.received_at, t.c.triggered_at, t.c.attempts
            )
            .where(self._due_filter(now or utcnow()))
            .order_by(t.c.received_at, t.c.webhook_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                Delivery(
                    r.webhook_id,
                    r.topic,
                    bytes(r.body or b""),
                    r.received_at,
                    r.triggered_at,
                    int(r.attempts or 0),
                )
                for r in conn.execute(query)
            ]

    def has_due(self, now: dt.datetime | None = None) -> bool:
        t = tables.webhooks
        query = sa.select(t.c.webhook_id).where(self._due_filter(now or utcnow())).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def applied(self, webhook_id: str) -> None:
        """Mark a delivery applied and forget its body."""
        self._set(
            webhook_id, status="applied", body=None, next_attempt_at=None, applied_at=utcnow()
        )

    def forget_mentions(self, values: set[str], *, customer_id: str = "", keep: str = "") -> int:
        """Forget the bodies and errors of the deliveries (other than ``keep``) that mention
        any of ``values`` or have ``"id": customer_id`` (that exact number): a customer's
        erasure leaves no copy of their data in the queue. A pending one is marked failed
        ("erased"); how many were changed."""
        exact_id = re.compile(rf'"id":\s*"?{re.escape(customer_id)}(?![0-9])'.encode())
        t, changed = tables.webhooks, 0
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.select(t.c.webhook_id, t.c.status, t.c.body, t.c.error, t.c.last_error)
                .where(t.c.webhook_id != keep)
                .where(sa.or_(t.c.body.is_not(None), t.c.error.is_not(None),
                              t.c.last_error.is_not(None)))
            ).all()
            for row in rows:
                texts = [bytes(x) if isinstance(x, bytes) else str(x or "").encode()
                         for x in row[2:]]
                if not any(mentions(text, values) for text in texts) and not (
                        customer_id and any(exact_id.search(text) for text in texts)):
                    continue
                status = "failed" if row.status == "pending" else row.status
                conn.execute(
                    sa.update(t).where(t.c.webhook_id == row.webhook_id).values(
                        body=None, error="erased: it held an erased customer's data",
                        last_error=None, status=status, next_attempt_at=None)
                )
                changed += 1
        return changed

    def fail(self, webhook_id: str, error: str) -> None:
        """Mark a delivery failed for good (its body is kept, to retry after a fix)."""
        self._set(webhook_id, status="failed", error=error, next_attempt_at=None)

    def wait(
        self, deliveries: Iterable[Delivery], error: str, now: dt.datetime | None = None
    ) -> int:
        """Count a try of each delivery that had to wait, and set its next try."""
        now, count = now or utcnow(), 0
        with self.engine.begin() as conn:
            for d in deliveries:
                conn.execute(
                    sa.update(tables.webhooks)
                    .where(tables.webhooks.c.webhook_id == d.webhook_id)
                    .values(
                        attempts=d.attempts + 1,
                        last_error=error,
                        next_attempt_at=now + retry_delay(d.attempts + 1),
                    )
                )
                count += 1
        return count

    def _set(self, webhook_id: str, **values: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                sa.update(tables.webhooks)
                .where(tables.webhooks.c.webhook_id == webhook_id)
                .values(**values)
            )

    def counts(self, now: dt.datetime | None = None) -> dict[str, int]:
        """``pending`` (all not yet applied and not failed), ``retrying`` (pending after at
        least one try that had to wait), ``due`` (pending whose time has come), ``failed``
        and ``applied``."""
        t, now = tables.webhooks, now or utcnow()
        retrying = sa.and_(t.c.status == "pending", t.c.attempts > 0)
        query = sa.select(
            sa.func.count().filter(t.c.status == "pending"),
            sa.func.count().filter(retrying),
            sa.func.count().filter(self._due_filter(now)),
            sa.func.count().filter(t.c.status == "failed"),
            sa.func.count().filter(t.c.status == "applied"),
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).one()
        names = ("pending", "retrying", "due", "failed", "applied")
        return {name: int(value or 0) for name, value in zip(names, row, strict=True)}

    def listed(self, status: str, limit: int = 100) -> list[dict[str, Any]]:
        """Deliveries with ``status`` (pending or failed), oldest first, without bodies."""
        t = tables.webhooks
        columns = (
            t.c.webhook_id,
            t.c.topic,
            t.c.shop,
            t.c.received_at,
            t.c.attempts,
            t.c.next_attempt_at,
            t.c.last_error,
            t.c.error,
        )
        query = (
            sa.select(*columns)
            .where(t.c.status == status)
            .order_by(t.c.received_at, t.c.webhook_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def retry(self, webhook_ids: Iterable[str] | None = None) -> int:
        """Queue failed deliveries again (those listed, else every one), due now; returns
        how many."""
        t = tables.webhooks
        where = t.c.status == "failed"
        if webhook_ids is not None:
            where = sa.and_(where, t.c.webhook_id.in_(list(webhook_ids)))
        with self.engine.begin() as conn:
            result = conn.execute(
                sa.update(t).where(where).values(status="pending", attempts=0, next_attempt_at=None)
            )
        return int(result.rowcount or 0)
