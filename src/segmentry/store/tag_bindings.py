"""Tag bindings (``shopify_tag_bindings``) and managed tags (``shopify_managed_tags``): which
segment is pushed to Shopify as which customer tag, and every tag segmentry may touch.

Every function takes the caller's :class:`~sqlalchemy.Connection`: binding a segment retires
its old tag, takes the new one under management and saves the binding in one transaction
(:func:`segmentry.activation.shopify.tags.bind`).

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> day1, day2 = dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)
>>> with engine.begin() as conn:
...     bind(conn, "vip", "seg-vip", day1)
...     bind(conn, "vip", "seg-gold", day2)
...     managed_tags(conn, "vip"), binding(conn, "vip").tag
(('seg-gold', ['seg-vip']), 'seg-gold')
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import shopify_managed_tags as managed
from segmentry.store.schema import shopify_tag_bindings as bindings_table

__all__ = [
    "TagBinding",
    "bind",
    "binding",
    "bindings",
    "forget",
    "managed_tags",
    "owner",
    "retired_tags",
    "set_shopify_segment",
]


@dataclass(frozen=True)
class TagBinding:
    """Segment ``segment`` is pushed as customer tag ``tag`` (and, when
    ``create_shopify_segment``, as the Shopify segment ``shopify_segment_id`` on that tag)."""

    segment: str
    tag: str
    create_shopify_segment: bool
    shopify_segment_id: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


def binding(conn: sa.Connection, segment: str) -> TagBinding | None:
    row = conn.execute(
        sa.select(bindings_table).where(bindings_table.c.segment == segment)
    ).first()
    return None if row is None else _binding(row)


def bindings(conn: sa.Connection) -> list[TagBinding]:
    """Every binding (in the store's order)."""
    return [_binding(row) for row in conn.execute(sa.select(bindings_table))]


def _binding(row: sa.Row[tuple[object, ...]]) -> TagBinding:
    return TagBinding(row.segment, row.tag, bool(row.create_shopify_segment),
                      row.shopify_segment_id, row.created_at, row.updated_at)


def bind(conn: sa.Connection, segment: str, tag: str, now: dt.datetime) -> None:
    """Bind ``segment`` to ``tag``: its other managed tags are retired (kept, to be removed
    from customers), ``tag`` is managed for it, and the binding is saved."""
    conn.execute(
        sa.update(managed)
        .where(managed.c.segment == segment, managed.c.tag != tag, managed.c.retired_at.is_(None))
        .values(retired_at=now)
    )
    conn.execute(sa.delete(managed).where(managed.c.tag == tag))
    conn.execute(sa.insert(managed).values(tag=tag, segment=segment, created_at=now))
    values = {"tag": tag, "updated_at": now}
    if binding(conn, segment) is None:
        conn.execute(sa.insert(bindings_table).values(segment=segment, created_at=now, **values))
    else:
        conn.execute(
            sa.update(bindings_table).where(bindings_table.c.segment == segment).values(**values)
        )


def set_shopify_segment(conn: sa.Connection, segment: str, shopify_segment_id: str) -> None:
    """Note the Shopify segment made on ``segment``'s tag (kept up to date from now on)."""
    conn.execute(
        sa.update(bindings_table)
        .where(bindings_table.c.segment == segment)
        .values(shopify_segment_id=shopify_segment_id, create_shopify_segment=True)
    )


def forget(conn: sa.Connection, segment: str) -> None:
    """Drop ``segment``'s binding and every tag managed for it."""
    conn.execute(sa.delete(bindings_table).where(bindings_table.c.segment == segment))
    conn.execute(sa.delete(managed).where(managed.c.segment == segment))


def owner(conn: sa.Connection, tag: str) -> str | None:
    """The segment ``tag`` is managed for (None: segmentry does not manage it)."""
    found = conn.execute(sa.select(managed.c.segment).where(managed.c.tag == tag)).scalar()
    return None if found is None else str(found)


def managed_tags(conn: sa.Connection, segment: str) -> tuple[str | None, list[str]]:
    """(current tag, retired tags) managed for ``segment``."""
    rows = conn.execute(
        sa.select(managed.c.tag, managed.c.retired_at).where(managed.c.segment == segment)
    ).all()
    current = next((r.tag for r in rows if r.retired_at is None), None)
    return current, [r.tag for r in rows if r.retired_at is not None]


def retired_tags(conn: sa.Connection, segment: str) -> list[str]:
    """``segment``'s retired tags, in the store's order of tags."""
    return list(conn.execute(
        sa.select(managed.c.tag)
        .where(managed.c.segment == segment, managed.c.retired_at.is_not(None))
        .order_by(managed.c.tag)
    ).scalars())
