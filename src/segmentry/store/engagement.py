"""Engagement as the channels report it (``line_unit_statistics``, ``email_clicks``): the
repository :mod:`segmentry.app.campaigns.engagement` keeps it in.

- LINE's per-unit statistics of a campaign step, one row per period read
  (:func:`save_line_statistics` replaces the period's row: reading twice never adds twice);
- a customer's first click on a link of an e-mail send (:func:`record_click`: once per send,
  customer and link), counted as unique clickers per step (:func:`email_clickers`).

Every function takes the caller's :class:`~sqlalchemy.Connection`.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> from segmentry.store.outbox import NewSend, create_send
>>> engine = open_state_store("sqlite://")
>>> at = dt.datetime(2026, 12, 6, 9)
>>> with engine.begin() as conn:
...     send_id = create_send(conn, NewSend("campaign:w:news:2026-12-06:email", "vip",
...                                         "email", "ja", "Hi"), at=at)
...     first = record_click(conn, send_id, "c1", "https://shop.example/a", at=at)
...     again = record_click(conn, send_id, "c1", "https://shop.example/a", at=at)
...     other = record_click(conn, send_id, "c1", "https://shop.example/b", at=at)
...     first, again, other, clickers_of(conn, [send_id])
(True, False, True, 1)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import (
    campaign_cohorts,
    campaigns,
    email_clicks,
    line_unit_statistics,
    outbox,
    sends,
)

__all__ = [
    "LineStatistics",
    "clickers_of",
    "cohort_sends",
    "delivered_of",
    "line_statistics",
    "record_click",
    "save_line_statistics",
    "send_ids",
]


@dataclass(frozen=True)
class LineStatistics:
    """LINE's figures for one campaign step's aggregation unit over ``day``…``day_to``
    (LINE's days, UTC+9). None: not reported by LINE (fewer than 20)."""

    campaign: str
    step: str
    day: dt.date
    day_to: dt.date
    unit: str
    unique_impression: int | None
    unique_click: int | None
    unique_media_played: int | None
    detail: str  # LINE's answer, as JSON
    read_at: dt.datetime


def save_line_statistics(conn: sa.Connection, stats: LineStatistics) -> None:
    """Store one period's figures, replacing what an earlier reading of it stored."""
    t = line_unit_statistics
    conn.execute(t.delete().where((t.c.campaign == stats.campaign) & (t.c.step == stats.step)
                                  & (t.c.day == stats.day)))
    conn.execute(t.insert().values(**stats.__dict__))


def line_statistics(conn: sa.Connection, campaign: str,
                    step: str | None = None) -> list[LineStatistics]:
    """The stored periods of ``campaign`` (or of its ``step``), by step and day."""
    t = line_unit_statistics
    query = sa.select(t).where(t.c.campaign == campaign)
    if step is not None:
        query = query.where(t.c.step == step)
    rows = conn.execute(query.order_by(t.c.step, t.c.day)).mappings()
    return [LineStatistics(**row) for row in rows]


def record_click(conn: sa.Connection, send_id: int, customer_id: str, url: str, *,
                 at: dt.datetime) -> bool:
    """Record a customer's click on ``url`` in send ``send_id``; False when it had been."""
    link = hashlib.sha256(url.encode()).hexdigest()
    c = email_clicks.c
    found = conn.execute(sa.select(c.link).where(
        (c.send_id == send_id) & (c.customer_id == customer_id) & (c.link == link))).first()
    if found is not None:
        return False
    conn.execute(email_clicks.insert().values(send_id=send_id, customer_id=customer_id,
                                              link=link, url=url, clicked_at=at))
    return True


def cohort_sends(conn: sa.Connection, campaign: str) -> list[tuple[str, str, dt.datetime]]:
    """``(step, send key, start)`` of every cohort of ``campaign``, oldest first (a cohort's
    send on a channel is ``<send key>:<channel>``)."""
    c = campaign_cohorts.c
    query = (sa.select(c.step, c.send_key, c.start_at)
             .join_from(campaign_cohorts, campaigns, campaigns.c.id == c.campaign_id)
             .where(campaigns.c.key == campaign).order_by(c.start_at, c.id))
    return [(step, key, start) for step, key, start in conn.execute(query)]


def send_ids(conn: sa.Connection, keys: Sequence[str]) -> dict[str, int]:
    """The ids of the sends with these keys (the keys without a send are left out)."""
    if not keys:
        return {}
    rows = conn.execute(sa.select(sends.c.key, sends.c.id).where(sends.c.key.in_(list(keys))))
    return {key: send_id for key, send_id in rows}


def clickers_of(conn: sa.Connection, ids: Sequence[int]) -> int:
    """Customers who clicked at least one link of any of the sends ``ids``."""
    if not ids:
        return 0
    query = sa.select(sa.func.count(sa.distinct(email_clicks.c.customer_id))).where(
        email_clicks.c.send_id.in_(list(ids)))
    return int(conn.execute(query).scalar_one())


def delivered_of(conn: sa.Connection, ids: Sequence[int]) -> int:
    """Customers the sends ``ids`` delivered a message to."""
    if not ids:
        return 0
    query = sa.select(sa.func.count(sa.distinct(outbox.c.customer_id))).where(
        outbox.c.send_id.in_(list(ids)) & (outbox.c.status == "delivered"))
    return int(conn.execute(query).scalar_one())
