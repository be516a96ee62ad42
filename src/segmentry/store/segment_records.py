"""Segment records: ``segments``, ``segment_versions``, ``segment_metrics``,
``segment_former_keys`` and ``unclaimed_memberships`` — the segment aggregate's rows.

Every function takes the caller's :class:`~sqlalchemy.Connection`: the segment service
(:mod:`segmentry.app.segments`) and the daily run switch a segment's pointer, its version and
its metric rows in ONE transaction (docs/reliability.md); the rules (names, queries,
references, when a key is claimed) are theirs, this module only reads and writes rows.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> now = dt.datetime(2026, 12, 6, 9, 0)
>>> with engine.begin() as conn:
...     segment_id = insert(conn, "vip", "VIP", "", "orders >= 3", now)
...     point_to(conn, segment_id, "s1_ab", dt.date(2026, 12, 5), dt.date(2026, 1, 1))
...     found = by_key(conn, "vip")
>>> found.display_name, found.query, found.membership_key, found.computed_through
('VIP', 'orders >= 3', 's1_ab', datetime.date(2026, 12, 5))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from segmentry.store.schema import (
    former_keys,
    segment_metrics,
    segment_versions,
    segments,
    shopify_audit_log,
    shopify_managed_tags,
    shopify_sync_jobs,
    shopify_tag_bindings,
    unclaimed_memberships,
)

__all__ = [
    "Segment",
    "add_version",
    "all_segments",
    "by_display_name",
    "by_key",
    "claim",
    "delete",
    "insert",
    "key_now",
    "metric_rows",
    "point_to",
    "rename_key",
    "replace_metrics",
    "set_computed_through",
    "set_version_query",
    "touch",
    "unclaim",
    "unclaimed_keys",
    "update",
    "versions",
]


@dataclass(frozen=True)
class Segment:
    """A segment's definition. ``name`` is its key (URLs, tags, CLI, API); ``display_name`` is
    what people read (any text)."""

    id: int
    name: str
    display_name: str
    description: str
    query: str
    version: int
    membership_key: str | None
    computed_through: dt.date | None
    history_start: dt.date | None
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def key(self) -> str:
        """The segment's key: the same as ``name``."""
        return self.name


# ------------------------------------------------------------------ definitions


def _select() -> sa.Select[Any]:
    s, v = segments, segment_versions
    return sa.select(
        s.c.id, s.c.name, s.c.display_name, s.c.description, v.c.query, s.c.version,
        s.c.membership_key, s.c.computed_through, s.c.history_start, s.c.created_at, s.c.updated_at,
    ).join(v, sa.and_(v.c.segment_id == s.c.id, v.c.version == s.c.version))


def all_segments(conn: sa.Connection) -> list[Segment]:
    """Every segment at its current version, by display name then key."""
    rows = conn.execute(_select().order_by(segments.c.display_name, segments.c.name))
    return [Segment(**row) for row in rows.mappings()]


def by_key(conn: sa.Connection, key: str) -> Segment | None:
    row = conn.execute(_select().where(segments.c.name == key)).mappings().first()
    return None if row is None else Segment(**row)


def by_display_name(conn: sa.Connection, display_name: str) -> Segment | None:
    row = conn.execute(_select().where(segments.c.display_name == display_name)).mappings().first()
    return None if row is None else Segment(**row)


def key_now(conn: sa.Connection, former_key: str) -> str | None:
    """The key now of the segment that had ``former_key`` before a rename (None: none had)."""
    s, f = segments, former_keys
    found = conn.execute(
        sa.select(s.c.name).join(f, f.c.segment_id == s.c.id).where(f.c.key == former_key)
    ).scalar()
    return None if found is None else str(found)


def insert(
    conn: sa.Connection, key: str, display_name: str, description: str, query: str,
    now: dt.datetime, **values: Any,
) -> int:
    """Add a segment at version 1 defined by ``query`` (``values``: more columns of its row,
    e.g. its pointer); returns its id."""
    inserted = conn.execute(segments.insert().values(
        name=key, display_name=display_name, description=description, version=1,
        created_at=now, updated_at=now, **values,
    )).inserted_primary_key
    assert inserted is not None
    segment_id = int(inserted[0])
    add_version(conn, segment_id, 1, query, now)
    return segment_id


def add_version(conn: sa.Connection, segment_id: int, version: int, query: str,
                now: dt.datetime) -> None:
    """Store version ``version`` of a segment's query (its row names the current version)."""
    conn.execute(segment_versions.insert().values(
        segment_id=segment_id, version=version, query=query, created_at=now))


def update(conn: sa.Connection, segment_id: int, values: Mapping[str, Any]) -> None:
    """Set columns of a segment's row."""
    conn.execute(segments.update().where(segments.c.id == segment_id).values(**values))


def touch(conn: sa.Connection, segment_ids: Iterable[int], now: dt.datetime) -> None:
    """Move the segments' ``updated_at`` (readers key their caches on it)."""
    wanted = list(segment_ids)
    if wanted:
        conn.execute(segments.update().where(segments.c.id.in_(wanted)).values(updated_at=now))


def point_to(conn: sa.Connection, segment_id: int, membership_key: str,
             computed_through: dt.date, history_start: dt.date) -> None:
    """Point a segment to a computed history: its membership key and the days it covers."""
    update(conn, segment_id, {"membership_key": membership_key,
                              "computed_through": computed_through,
                              "history_start": history_start})


def set_computed_through(conn: sa.Connection, segment_id: int, day: dt.date) -> None:
    """Move a segment's last computed day (a run recorded ``day`` for it)."""
    update(conn, segment_id, {"computed_through": day})


def delete(conn: sa.Connection, segment_id: int) -> None:
    """Remove a segment with its versions, metrics, former keys and folder (cascade)."""
    conn.execute(segments.delete().where(segments.c.id == segment_id))


def versions(conn: sa.Connection) -> list[tuple[int, int, str]]:
    """(segment id, version, query) of every stored version of every segment."""
    v = segment_versions
    rows = conn.execute(sa.select(v.c.segment_id, v.c.version, v.c.query))
    return [(int(r.segment_id), int(r.version), str(r.query)) for r in rows]


def set_version_query(conn: sa.Connection, segment_id: int, version: int, query: str) -> None:
    """Replace the text of a stored version (a reference to a renamed segment rewritten)."""
    v = segment_versions
    conn.execute(v.update().where(v.c.segment_id == segment_id, v.c.version == version)
                 .values(query=query))


# NOTE: the Shopify connector keeps its bindings, jobs and audit log by segment key.
_KEY_COLUMNS = (shopify_tag_bindings.c.segment, shopify_managed_tags.c.segment,
                shopify_sync_jobs.c.segment, shopify_audit_log.c.segment)


def rename_key(conn: sa.Connection, segment_id: int, old: str, new: str,
               now: dt.datetime) -> None:
    """Give a segment the key ``new``: its row, the rows other parts keep by key, and ``old``
    remembered as its former key (see :func:`key_now`)."""
    update(conn, segment_id, {"name": new, "updated_at": now})
    for column in _KEY_COLUMNS:
        conn.execute(sa.update(column.table).where(column == old).values({column: new}))
    f = former_keys
    conn.execute(f.delete().where(f.c.key.in_([old, new])))
    conn.execute(f.insert().values(key=old, segment_id=segment_id, renamed_at=now))


# ------------------------------------------------------------------ metrics


def metric_rows(conn: sa.Connection, segment_id: int) -> list[dict[str, Any]]:
    """A segment's metric rows by day (money and ratios as the decimal strings stored)."""
    m = segment_metrics
    rows = conn.execute(sa.select(m).where(m.c.segment_id == segment_id).order_by(m.c.day))
    return [dict(r) for r in rows.mappings()]


def replace_metrics(conn: sa.Connection, segment_id: int, rows: Sequence[Mapping[str, Any]],
                    *, delete_all: bool) -> None:
    """Write a segment's metric rows (one per ``day``), replacing the same days (or all)."""
    m = segment_metrics
    delete = m.delete().where(m.c.segment_id == segment_id)
    if not delete_all and rows:
        delete = delete.where(m.c.day.in_([r["day"] for r in rows]))
    conn.execute(delete)
    if rows:
        conn.execute(m.insert(), [{**r, "segment_id": segment_id} for r in rows])


# ------------------------------------------------------------------ unclaimed keys


def unclaimed_keys(conn: sa.Connection) -> list[str]:
    """Listed keys no segment points to (see ``unclaimed_memberships`` in the schema)."""
    s, u = segments, unclaimed_memberships
    return list(conn.execute(
        sa.select(u.c.key).where(u.c.key.not_in(
            sa.select(s.c.membership_key).where(s.c.membership_key.is_not(None))))
    ).scalars())


def claim(conn: sa.Connection, keys: Iterable[str]) -> None:
    """Take keys off the unclaimed list (a segment points to them, or their rows are gone)."""
    wanted = list(keys)
    if wanted:
        u = unclaimed_memberships
        conn.execute(u.delete().where(u.c.key.in_(wanted)))


def unclaim(conn: sa.Connection, keys: Iterable[str | None], now: dt.datetime) -> None:
    """List keys as pointed to by no segment (their rows are deleted later)."""
    u = unclaimed_memberships
    for key in keys:
        if key:
            conn.execute(u.delete().where(u.c.key == key))
            conn.execute(u.insert().values(key=key, since=now))
