"""The Shopify sync's high-water marks: per resource (``customers``, ``orders``, ``products``),
the newest ``updatedAt`` stored, so the next sync asks only for what changed since; and, under
resource ``app``, whether the app is ``installed`` or ``uninstalled``; under resource
``withheld``, the protected customer data (``name``, ``email``, ``phone``, ``address``) Shopify
withheld from the app at the last customer sync; under ``again:<resource>:<id>``, each object
Shopify answered with errors on some of its fields (partial data), with the error's code: the
next sync reads it again by id.

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
>>> remember_unread(engine, "orders", {"gid://shopify/Order/7": "INTERNAL_SERVER_ERROR"})
>>> unread(engine, "orders"), unread_counts(engine)
({'gid://shopify/Order/7': 'INTERNAL_SERVER_ERROR'}, {'orders': 1})
>>> forget_unread(engine, "orders", ["gid://shopify/Order/7"]); unread(engine, "orders")
{}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa

from segmentry.core.clock import utcnow
from segmentry.core.errors import Text
from segmentry.store.schema import shopify_sync_state as marks

__all__ = [
    "clear_mark",
    "forget_unread",
    "mark_of",
    "remember_unread",
    "set_mark",
    "set_withheld",
    "unread",
    "unread_counts",
    "unread_note",
    "withheld",
]

_WITHHELD = "withheld"
_AGAIN = "again:"
_KINDS = {"customers": "Customer", "orders": "Order", "products": "Product"}


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


def _again_key(resource: str, gid: str) -> str:
    return f"{_AGAIN}{resource}:{gid.rsplit('/', 1)[-1]}"


def remember_unread(engine: sa.Engine, resource: str, failed: Mapping[str, str]) -> None:
    """Remember objects (gid → Shopify's error code or message) whose answer had errors, to be
    read again by id at the next sync; one transaction."""
    if not failed:
        return
    keys = {_again_key(resource, gid): str(why)[:40] for gid, why in failed.items()}
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(sa.delete(marks).where(marks.c.resource.in_(list(keys))))
        conn.execute(sa.insert(marks), [
            {"resource": key, "high_water": why, "synced_at": now} for key, why in keys.items()
        ])


def unread(engine: sa.Engine, resource: str) -> dict[str, str]:
    """The objects of ``resource`` to read again (gid → the error they came with)."""
    prefix = f"{_AGAIN}{resource}:"
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(marks.c.resource, marks.c.high_water)
            .where(marks.c.resource.startswith(prefix)).order_by(marks.c.resource)
        ).all()
    kind = _KINDS.get(resource, resource)
    return {f"gid://shopify/{kind}/{key.removeprefix(prefix)}": str(why or "")
            for key, why in rows}


def forget_unread(engine: sa.Engine, resource: str, gids: Iterable[str]) -> None:
    """Objects read in full again (or gone from Shopify): no longer to be read again."""
    keys = [_again_key(resource, gid) for gid in gids]
    if keys:
        with engine.begin() as conn:
            conn.execute(sa.delete(marks).where(marks.c.resource.in_(keys)))


def unread_counts(engine: sa.Engine) -> dict[str, int]:
    """Per resource, how many objects wait to be read again."""
    with engine.connect() as conn:
        keys = conn.execute(
            sa.select(marks.c.resource).where(marks.c.resource.startswith(_AGAIN))
        ).scalars().all()
    counts: dict[str, int] = {}
    for key in keys:
        resource = key.removeprefix(_AGAIN).split(":", 1)[0]
        counts[resource] = counts.get(resource, 0) + 1
    return dict(sorted(counts.items()))


def unread_note(engine: sa.Engine) -> Text | None:
    """What to tell about objects Shopify answered with errors (None: none wait)."""
    counts = unread_counts(engine)
    if not counts:
        return None
    return Text(
        "Shopify answered {count} record(s) ({which}) with errors on some fields; the rest "
        "was stored, and those records are read again at the next sync.",
        {"count": sum(counts.values()),
         "which": ", ".join(f"{name} {n}" for name, n in counts.items())},
    )
