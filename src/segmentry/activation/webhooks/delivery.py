"""Posting recorded deliveries to a receiver, with retries in one place.

Each delivery is POSTed with its stored body and fresh signed headers
(:func:`~segmentry.activation.webhooks.signing.signed_headers`):

- 2xx: ``delivered``.
- 5xx, 408, 429 and connection problems (refused, timed out, dropped): tried again after
  ``backoff × 2^n`` seconds (or ``Retry-After``, up to ``max_wait``), ``attempts`` times in all;
  then the delivery stays ``pending`` with the last error, and the pass stops for this receiver
  (the rest wait too, so they arrive in order): the next pass, after the next run, goes on.
- Any other answer (4xx, a redirect): ``failed`` for good, with the status and the start of the
  receiver's answer. It is not sent again.

A delivery is marked only after the receiver answered, so a crash in between sends it once
more on the next pass, with the same ``X-Segmentry-Delivery``: receivers drop repeats by it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import sqlalchemy as sa

from segmentry.activation.webhooks.signing import signed_headers
from segmentry.core.clock import utcnow
from segmentry.store import webhook_deliveries
from segmentry.store.webhook_deliveries import Delivery

__all__ = ["Retrying", "Tally", "post_due"]


@dataclass
class Retrying:
    """How often and how long to try one delivery within a pass."""

    attempts: int = 4
    backoff: float = 1.0
    max_wait: float = 60.0
    sleep: Callable[[float], None] = time.sleep

    def delay(self, failures: int, retry_after: float | None) -> float:
        wait = self.backoff * 2 ** (failures - 1) if retry_after is None else retry_after
        return max(0.0, min(self.max_wait, wait))


@dataclass
class Tally:
    """What one pass did for one receiver."""

    delivered: int = 0
    failed: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def post_due(engine: sa.Engine, client: httpx.Client, *, receiver: str, url: str,
             secret: str, retrying: Retrying,
             now: Callable[[], dt.datetime] = utcnow) -> Tally:
    """POST the receiver's pending deliveries, oldest first (see the module docstring)."""
    tally = Tally()
    with engine.begin() as conn:
        due = webhook_deliveries.due(conn, receiver)
    for position, delivery in enumerate(due):
        status, attempts, http_status, error = _post(client, url, secret, delivery, retrying)
        with engine.begin() as conn:
            webhook_deliveries.mark(conn, delivery.id, status, at=now(), attempts=attempts,
                                    http_status=http_status, error=error)
        if status == "delivered":
            tally.delivered += 1
        elif status == "failed":
            tally.failed += 1
            tally.errors.append(error or "")
        else:
            tally.waiting = len(due) - position
            tally.errors.append(error or "")
            break
    return tally


def _post(client: httpx.Client, url: str, secret: str, delivery: Delivery,
          retrying: Retrying) -> tuple[str, int, int | None, str | None]:
    """``(status, attempts, http status, error)`` of one delivery after its retries."""
    body = delivery.payload.encode("utf-8")
    error: str | None = None
    status_code: int | None = None
    for attempt in range(1, retrying.attempts + 1):
        headers = signed_headers(secret, body, delivery=delivery.id, event=delivery.event)
        retry_after = None
        try:
            answer = client.post(url, content=body, headers=headers)
        except httpx.TransportError as e:
            status_code, error = None, f"{type(e).__name__}: {e}"
        else:
            status_code = answer.status_code
            if answer.is_success:
                return "delivered", attempt, status_code, None
            error = f"HTTP {status_code}: {answer.text[:200]}".rstrip(": ")
            if status_code not in (408, 429) and status_code < 500:
                return "failed", attempt, status_code, error
            retry_after = _seconds(answer.headers.get("retry-after"))
        if attempt < retrying.attempts:
            retrying.sleep(retrying.delay(attempt, retry_after))
    return "pending", retrying.attempts, status_code, error


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
