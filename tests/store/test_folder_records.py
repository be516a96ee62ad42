"""The folder repository (segmentry.store.folders)."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from segmentry.store import folders
from segmentry.store.schema import segments

T0 = dt.datetime(2026, 12, 6, 9, 0)


def _segment(engine: sa.Engine, segment_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(segments.insert().values(
            id=segment_id, name=f"s{segment_id}", display_name=f"S{segment_id}", version=1,
            created_at=T0, updated_at=T0))


def test_a_segment_is_in_one_folder_or_none(state_store: sa.Engine) -> None:
    for segment_id in (1, 2, 3):
        _segment(state_store, segment_id)
    assert folders.folders(state_store) == {}
    folders.put(state_store, 1, "LINE施策")
    folders.put(state_store, 2, "Acquisition")
    folders.put(state_store, 2, "LINE施策")  # moved, not in two folders
    folders.put(state_store, 3, "VIP")
    folders.put(state_store, 3, "")  # out of any folder
    assert folders.folders(state_store) == {1: "LINE施策", 2: "LINE施策"}
    with state_store.begin() as conn:  # a removed segment's folder goes with it
        conn.execute(segments.delete().where(segments.c.id == 1))
    assert folders.folders(state_store) == {2: "LINE施策"}
