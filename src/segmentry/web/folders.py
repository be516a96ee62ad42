"""Segment folders: a shop's own grouping of its segments ("Acquisition", "LINE", ...).

One folder per segment (or none). Stored beside the segments in the state store
(:mod:`segmentry.store.folders`); a removed segment's folder row goes with it.

>>> clean_folder("  LINE施策 ")
'LINE施策'
"""

from __future__ import annotations

import sqlalchemy as sa

from segmentry.core.errors import SegmentryError
from segmentry.store import folders as stored
from segmentry.store.schema import segment_folders

__all__ = ["clean_folder", "folder_of", "folders", "segment_folders", "set_folder"]


def clean_folder(name: str) -> str:
    """A folder name as stored: trimmed, at most 100 characters, no control characters."""
    name = name.strip()
    if len(name) > 100 or any(ord(c) < 32 for c in name):
        raise SegmentryError(
            "A folder name is at most 100 characters on one line.", code="bad_folder"
        )
    return name


def folders(engine: sa.Engine) -> dict[int, str]:
    """Segment id → folder name, for every segment in a folder."""
    return stored.folders(engine)


def folder_of(engine: sa.Engine, segment_id: int) -> str | None:
    return folders(engine).get(segment_id)


def set_folder(engine: sa.Engine, segment_id: int, folder: str) -> None:
    """Put a segment in ``folder`` (an empty name takes it out of any folder)."""
    stored.put(engine, segment_id, clean_folder(folder))
