"""Erasure records (``erasures``): customers erased, and whether what their data left in old
blocks and logs is gone yet (see :mod:`segmentry.app.erasure`); and :func:`clear_messaging`,
what an erasure clears from the state store's messaging tables.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> now = dt.datetime(2026, 12, 6, 9, 0)
>>> with engine.begin() as conn:
...     record(conn, "shop-1", "c1", now)
...     record(conn, "shop-1", "*", now)
...     before = waiting(conn), whole_shop_waiting(conn)
...     done = finish_waiting(conn, now)
...     after = waiting(conn), whole_shop_waiting(conn)
>>> before, done, after
((2, True), 2, (0, False))
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import (
    email_clicks,
    erasures,
    line_rich_menu_links,
    outbox,
    unsubscriptions,
)

__all__ = ["MessagingCleared", "clear_messaging", "finish_waiting", "record", "waiting",
           "whole_shop_waiting"]

# The customer id of a whole shop's erasure (Shopify's shop/redact).
_WHOLE_SHOP = "*"
# Outbox rows not known to be delivered (the statuses of segmentry.store.outbox).
_NOT_SENT = ("pending", "sending", "uncertain")


def record(conn: sa.Connection, shop_id: str, customer_id: str, now: dt.datetime) -> None:
    """Record an erasure requested at ``now`` (customer ``*``: the whole shop's)."""
    conn.execute(sa.insert(erasures).values(shop_id=shop_id, customer_id=customer_id,
                                            requested_at=now))


def waiting(conn: sa.Connection) -> int:
    """How many erasures are not finished."""
    query = sa.select(sa.func.count()).where(erasures.c.finished_at.is_(None))
    return int(conn.execute(query).scalar() or 0)


def whole_shop_waiting(conn: sa.Connection) -> bool:
    """Whether a whole shop's erasure is among those not finished."""
    query = (sa.select(sa.func.count()).where(erasures.c.finished_at.is_(None))
             .where(erasures.c.customer_id == _WHOLE_SHOP))
    return bool(conn.execute(query).scalar())


def finish_waiting(conn: sa.Connection, now: dt.datetime) -> int:
    """Mark every erasure not finished as finished at ``now``; how many were."""
    done = conn.execute(
        sa.update(erasures).where(erasures.c.finished_at.is_(None)).values(finished_at=now)
    ).rowcount
    return int(done or 0)


@dataclass(frozen=True)
class MessagingCleared:
    """What :func:`clear_messaging` changed, in rows."""

    messages: int  # outbox rows cleared of address and content
    not_sent: int  # of them, rows still to deliver: skipped now (reason ``erased``)
    unsubscriptions: int
    rich_menu_links: int
    clicks: int


def clear_messaging(conn: sa.Connection, customer_id: str | None, *,
                    at: dt.datetime) -> MessagingCleared:
    """Clear a customer's personal data from the messaging tables (``None``: every customer's,
    for a whole shop's erasure): the address and the rendered subject, text, HTML and Flex of
    their messages (rows still to deliver are skipped, reason ``erased``, so nothing goes to
    them; the rows themselves stay, so a send's counts, the frequency cap and exactly-once
    delivery hold), their unsubscriptions (e-mail addresses), the rich menus linked to their
    LINE user ids, and the addresses their tracked clicks led to (the clicks stay counted).

    A row being delivered right now by another process is skipped and cleared too, then
    settled as the platform answers; one left ``sending`` by a crash stays skipped (it is not
    asked again: its content is gone)."""
    def mine(table: sa.Table) -> sa.ColumnElement[bool]:
        return sa.true() if customer_id is None else table.c.customer_id == customer_id

    not_sent = conn.execute(
        outbox.update().where(mine(outbox), outbox.c.status.in_(_NOT_SENT))
        .values(status="skipped", reason="erased", updated_at=at)
    ).rowcount
    messages = conn.execute(
        outbox.update().where(mine(outbox)).values(
            address=None, subject=None, body=None, html=None, flex=None, detail=None,
            updated_at=at)
    ).rowcount
    unsubscribed = conn.execute(unsubscriptions.delete().where(mine(unsubscriptions))).rowcount
    menus = conn.execute(line_rich_menu_links.delete().where(mine(line_rich_menu_links))).rowcount
    clicks = conn.execute(email_clicks.update().where(mine(email_clicks)).values(url="")).rowcount
    return MessagingCleared(int(messages or 0), int(not_sent or 0), int(unsubscribed or 0),
                            int(menus or 0), int(clicks or 0))
