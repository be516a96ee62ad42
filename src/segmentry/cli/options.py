"""The ``--workspace`` option shared by every command, and opening the workspace it names."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer

from segmentry.app.workspace import Workspace

__all__ = ["WorkspaceOption", "open_workspace"]

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        envvar="SEGMENTRY_WORKSPACE",
        help="Workspace folder (default: the current folder).",
        show_default=False,
    ),
]


@contextlib.contextmanager
def open_workspace(folder: Path | None) -> Iterator[Workspace]:
    """Open the workspace in ``folder`` (or the current folder) and close it afterwards."""
    ws = Workspace.open(folder or Path.cwd())
    try:
        yield ws
    finally:
        ws.close()
