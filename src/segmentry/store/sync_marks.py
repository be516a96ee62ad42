"""The Shopify sync's high-water marks: per resource (``customers``, ``orders``, ``products``),
the newest ``updatedAt`` stored, so the next sync asks only for what changed since; and, under
resource ``app``, whether the app is ``installed`` or ``uninstalled``; under resource
``withheld``, the protected customer data (``name``, ``email``, ``phone``, ``address``) Shopify
withheld from the app at the last customer sync.

>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> set_mark(engine, "orders", "2026-12-01T00:00:00Z"); mark_of(engine, "orders")
'2026-12-01T00:00:00Z'
>>> clear_mark(engine, "orders"); mark_of(engine, "orders") is None
True
>>> set_withheld(engine, {"phone", "email"}); sorted(withheld(engine))
['email', 'phone']
>>> set_withheld(engine, ()); withheld(engine)
frozenset()
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from segmentry.core.clock import utcnow
from segmentry.store.schema import shopify_sync_state as marks

__all__ = ["clear_mark", "mark_of", "set_mark", "set_withheld", "withheld"]

_WITHHELD = "withheld"


def mark_of(engine: sa.Engine, resource: str) -> str | None:
    """The stored mark of ``resource`` (None: never synced)."""
    with engine.connect() as conn:
        value = conn.execute(
            sa.select(marks.c.high_water).where(marks.c.resource == resource)
        ).scalar()
    return None if value is None else str(value)


def set_mark(engine: sa.Engine, resource: str, mark: str) -> None:
    """Store ``mark`` for ``resource`` (replacing the one before), in one transaction."""
    with engine.begin() as conn:
        conn.execute(sa.delete(marks).where(marks.c.resource == resource))
        conn.execute(sa.insert(marks).values(resource=resource, high_water=mark,
                                             synced_at=utcnow()))


def clear_mark(engine: sa.Engine, resource: str) -> None:
    """Forget ``resource``'s mark (its next sync reads everything)."""
    with engine.begin() as conn:
        conn.execute(sa.delete(marks).where(marks.c.resource == resource))


def withheld(engine: sa.Engine) -> frozenset[str]:
    """The protected customer data Shopify withheld at the last customer sync (empty: none,
    or never synced)."""
    return frozenset(filter(None, (mark_of(engine, _WITHHELD) or "").split(",")))


def set_withheld(engine: sa.Engine, fields: Iterable[str]) -> None:
    """Record what the last customer sync found withheld (nothing: the record is removed)."""
    found = sorted(set(fields))
    if found:
        set_mark(engine, _WITHHELD, ",".join(found))
    else:
        clear_mark(engine, _WITHHELD)
