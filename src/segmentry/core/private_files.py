"""Workspace files are private to the account that runs segmentry: files 0600, folders 0700.

A workspace holds customers' names, e-mails and phones (the warehouse, exports, rejected rows,
data-request exports) and password hashes and tokens (the state store). Two measures keep them
from other accounts on the machine:

- :func:`keep_private` sets the process's umask to 077 when a workspace is opened, so every file
  segmentry creates afterwards — by our code, by DuckDB (its ``.wal``), by SQLite (``-wal`` and
  ``-shm``) or by a library — is readable and writable by the owner only;
- :func:`tighten` repairs a workspace made before this rule (or copied in with looser modes): it
  takes group and other permissions away from everything inside the folder.

>>> import tempfile, pathlib, stat
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "shop"
>>> folder.mkdir(mode=0o755)
>>> (folder / "export.csv").write_text("email\\n")
6
>>> (folder / "export.csv").chmod(0o644)
>>> tighten(folder)
>>> mode = lambda p: oct(stat.S_IMODE(p.stat().st_mode))
>>> mode(folder / "export.csv"), mode(folder)
('0o600', '0o700')
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["PRIVATE_UMASK", "keep_private", "tighten"]

PRIVATE_UMASK = 0o077


def keep_private() -> None:
    """Make files and folders this process creates from now on owner-only (umask 077).

    The umask is per process: segmentry's commands and its web server set it when they open a
    workspace; a program that imports segmentry as a library gets it too."""
    os.umask(PRIVATE_UMASK)


def tighten(folder: Path) -> None:
    """Remove group and other permissions from ``folder`` and everything inside it.

    Symbolic links are not followed (a link could point outside the workspace); entries that
    vanish while we walk (a SQLite ``-shm`` file, say) are skipped."""
    _restrict(folder)
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            _restrict(Path(root) / name)


def _restrict(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode) or not stat.S_IMODE(mode) & PRIVATE_UMASK:
            return
        path.chmod(stat.S_IMODE(mode) & ~PRIVATE_UMASK)
    except FileNotFoundError:
        return
    except PermissionError:
        return  # not ours (a mounted folder, say): nothing we can do, and nothing to break
