"""The rich menu segmentry linked to each LINE user (``line_rich_menu_links``), so that a day
run again, or a member who stays, costs no call to LINE
(:mod:`segmentry.activation.line.rich_menus`).

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> at = dt.datetime(2026, 11, 30, 9, 0)
>>> with engine.begin() as conn:
...     linked(conn, [Link("U1", "c1", "vip", "richmenu-a")], at=at)
...     linked(conn, [Link("U1", "c1", "new", "richmenu-b")], at=at)
...     unlinked(conn, ["U2"])
...     links(conn)
{'U1': Link(user_id='U1', customer_id='c1', segment='new', rich_menu_id='richmenu-b')}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import line_rich_menu_links as table

__all__ = ["Link", "linked", "links", "unlinked"]


@dataclass(frozen=True)
class Link:
    user_id: str
    customer_id: str
    segment: str
    rich_menu_id: str


def links(conn: sa.Connection) -> dict[str, Link]:
    """Every recorded link, by LINE user id."""
    rows = conn.execute(sa.select(table.c.user_id, table.c.customer_id, table.c.segment,
                                  table.c.rich_menu_id))
    return {r.user_id: Link(**r) for r in rows.mappings()}


def linked(conn: sa.Connection, new: Sequence[Link], *, at: dt.datetime) -> None:
    """Record that each user of ``new`` now has its rich menu (replacing what they had)."""
    if not new:
        return
    unlinked(conn, [link.user_id for link in new])
    conn.execute(table.insert(), [
        {"user_id": link.user_id, "customer_id": link.customer_id, "segment": link.segment,
         "rich_menu_id": link.rich_menu_id, "linked_at": at} for link in new])


def unlinked(conn: sa.Connection, user_ids: Iterable[str]) -> None:
    """Record that ``user_ids`` have no rich menu from segmentry any more."""
    ids = list(user_ids)
    for start in range(0, len(ids), 1000):
        conn.execute(table.delete().where(table.c.user_id.in_(ids[start:start + 1000])))
