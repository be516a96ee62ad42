"""Segment folders (``segment_folders``): which folder each segment is in, if any.

>>> import sqlalchemy as sa
>>> from segmentry.store.schema import segments
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> with engine.begin() as conn:
...     _ = conn.execute(segments.insert().values(id=7, name="vip", display_name="VIP",
...         version=1, created_at=sa.func.now(), updated_at=sa.func.now()))
>>> put(engine, 7, "LINE施策"); folders(engine)
{7: 'LINE施策'}
>>> put(engine, 7, ""); folders(engine)
{}
"""

from __future__ import annotations

import sqlalchemy as sa

from segmentry.store.schema import segment_folders

__all__ = ["folders", "put"]


def folders(engine: sa.Engine) -> dict[int, str]:
    """Segment id → folder name, for every segment in a folder."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(segment_folders.c.segment_id, segment_folders.c.folder))
        return {int(r.segment_id): r.folder for r in rows}


def put(engine: sa.Engine, segment_id: int, folder: str) -> None:
    """Put a segment in ``folder`` (an empty name takes it out of any folder), in one
    transaction."""
    with engine.begin() as conn:
        conn.execute(segment_folders.delete().where(segment_folders.c.segment_id == segment_id))
        if folder:
            conn.execute(segment_folders.insert().values(segment_id=segment_id, folder=folder))
