"""Erasure records (``erasures``): customers erased, and whether what their data left in old
blocks and logs is gone yet (see :mod:`segmentry.app.erasure`).

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

import sqlalchemy as sa

from segmentry.store.schema import erasures

__all__ = ["finish_waiting", "record", "waiting", "whole_shop_waiting"]

# The customer id of a whole shop's erasure (Shopify's shop/redact).
_WHOLE_SHOP = "*"


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
