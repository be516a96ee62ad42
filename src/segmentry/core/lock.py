"""The workspace lock: one writer at a time, and a clear message naming the holder.

An OS file lock (``flock``) on ``<workspace>/.segmentry.lock``: the kernel releases it when the
holding process dies, so a crash never leaves a stale lock behind. The holder writes who it is
into the file so that a second process can say who is running.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from segmentry.core.clock import utcnow
from segmentry.core.errors import LockHeldError, Text

__all__ = ["LOCK_FILE", "holder_of", "workspace_lock"]

LOCK_FILE = ".segmentry.lock"


def holder_of(folder: Path) -> dict[str, object] | None:
    """Who holds the lock (pid, host, command, since), as written by the holder, if anyone."""
    try:
        text = (folder / LOCK_FILE).read_text(encoding="utf-8")
        data: dict[str, object] = json.loads(text) if text.strip() else {}
        return data or None
    except (FileNotFoundError, json.JSONDecodeError):
        return None


@contextlib.contextmanager
def workspace_lock(folder: Path, command: str) -> Iterator[None]:
    """Hold the workspace's write lock for the duration of the block.

    Raises :class:`LockHeldError` at once (never waits) when another process holds it.
    """
    path = folder / LOCK_FILE
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            holder = holder_of(folder) or {}
            who = Text(
                "process {pid} on {host} running `{command}` since {since} UTC",
                {key: holder.get(key, "?") for key in ("pid", "host", "command", "since")},
            )
            raise LockHeldError(
                "The workspace {folder} is busy: {who}.",
                params={"folder": folder, "who": who},
            ) from e
        handle.seek(0)
        handle.truncate()
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": command,
            "since": utcnow().isoformat(timespec="seconds"),
        }
        handle.write(json.dumps(info))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()
