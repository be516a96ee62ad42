"""Rewriting a DuckDB warehouse file so that erased values leave no bytes behind.

DuckDB does not overwrite the blocks an ``UPDATE`` or ``DELETE`` frees: after a customer is
erased, their name and phone stay readable in the file's old blocks (a checkpoint does not
change that). :func:`compact_duckdb_file` copies the live database into a new file
(``COPY FROM DATABASE``: tables, views, sequences and macros) and puts it in place of the old
one with an atomic rename, so the old blocks are gone with the old file.

The file must not be open: the caller closes every connection of this process first
(:func:`open_in_this_process` checks that on Linux) and holds the workspace lock, so no other
segmentry process opens it meanwhile. A crash at any point leaves either the old file or the
new one, whole; a half-written copy is removed by the next compaction.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import sqlglot as sg
import sqlglot.expressions as sge

from segmentry.core.errors import EngineError

__all__ = ["compact_duckdb_file", "open_in_this_process"]

_COPY_SUFFIX = ".compacting"


def open_in_this_process(path: Path) -> list[str]:
    """The files of the database at ``path`` (itself, its ``.wal``) that this process still
    has open, as seen in ``/proc/self/fd``; [] where ``/proc`` is not available."""
    names = {str(path.resolve()), f"{path.resolve()}.wal"}
    fds = Path("/proc/self/fd")
    if not fds.is_dir():
        return []
    open_now = []
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while we looked
            continue
        if target in names:
            open_now.append(target)
    return open_now


def compact_duckdb_file(path: Path) -> tuple[int, int]:
    """Rewrite the DuckDB database at ``path`` (see the module docstring); the file's size
    before and after, in bytes."""
    still_open = open_in_this_process(path)
    if still_open:
        raise EngineError(
            "Cannot compact the warehouse: {files} still open in this process.",
            code="warehouse_in_use",
            params={"files": ", ".join(sorted(set(still_open)))},
        )
    copy = path.with_name(path.name + _COPY_SUFFIX)
    for leftover in (copy, Path(f"{copy}.wal")):
        leftover.unlink(missing_ok=True)
    before = path.stat().st_size
    _checkpoint(path)  # the old file's WAL is folded in and removed: nothing replays onto the copy
    with duckdb.connect(str(copy)) as con:
        # NOTE: ATTACH takes no bound parameters; the path is quoted as a string literal.
        con.execute(f"ATTACH {sge.convert(str(path)).sql('duckdb')} AS old (READ_ONLY)")
        name = (con.execute("SELECT current_database()").fetchone() or ("main",))[0]
        con.execute(f"COPY FROM DATABASE old TO {sg.to_identifier(name).sql('duckdb')}")
        con.execute("DETACH old")
        con.execute("CHECKPOINT")
    _fsync(copy)
    os.replace(copy, path)
    _fsync(path.parent)
    return before, path.stat().st_size


def _checkpoint(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CHECKPOINT")
    wal = Path(f"{path}.wal")
    if wal.exists() and wal.stat().st_size:
        raise EngineError(
            "Cannot compact the warehouse: its write-ahead log {wal} was not folded in.",
            code="warehouse_in_use",
            params={"wal": wal},
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
