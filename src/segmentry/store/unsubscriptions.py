"""Unsubscriptions made through segmentry's links (``unsubscriptions``).

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> at = dt.datetime(2026, 12, 6, 9)
>>> with engine.begin() as conn:
...     first = record(conn, "Hanako@Example.jp", "1001", "one_click", at=at)
...     again = record(conn, "hanako@example.jp", "1001", "page", at=at)  # once is enough
...     first, again, sorted(addresses(conn)), [u.customer_id for u in not_written_back(conn)]
(True, False, ['hanako@example.jp'], ['1001'])
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import unsubscriptions

__all__ = ["Unsubscription", "addresses", "mark_written_back", "not_written_back", "record"]


@dataclass(frozen=True)
class Unsubscription:
    email: str
    customer_id: str
    at: dt.datetime
    how: str
    written_back_at: dt.datetime | None


def record(conn: sa.Connection, email: str, customer_id: str, how: str, *,
           at: dt.datetime) -> bool:
    """Record that ``email`` unsubscribed; False when it already had."""
    address = email.strip().lower()
    found = conn.execute(
        sa.select(unsubscriptions.c.email).where(unsubscriptions.c.email == address)
    ).first()
    if found is not None:
        return False
    conn.execute(unsubscriptions.insert().values(email=address, customer_id=customer_id,
                                                 at=at, how=how))
    return True


def addresses(conn: sa.Connection) -> set[str]:
    """Every unsubscribed address (lower case)."""
    return set(conn.execute(sa.select(unsubscriptions.c.email)).scalars())


def not_written_back(conn: sa.Connection) -> list[Unsubscription]:
    """Unsubscriptions Shopify has not been told of yet, oldest first."""
    query = (sa.select(unsubscriptions)
             .where(unsubscriptions.c.written_back_at.is_(None))
             .order_by(unsubscriptions.c.at))
    return [Unsubscription(**row) for row in conn.execute(query).mappings()]


def mark_written_back(conn: sa.Connection, email: str, *, at: dt.datetime) -> None:
    conn.execute(unsubscriptions.update().where(unsubscriptions.c.email == email)
                 .values(written_back_at=at))
