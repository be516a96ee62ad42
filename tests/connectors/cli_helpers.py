"""Helpers of the import tests: the `segmentry` command run in-process on a workspace, and
the ledger read back in key order."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.ledger.schema import KEYS, TABLES


def segmentry(ws: Path, *args: str | Path) -> Any:
    result = CliRunner().invoke(app, [*map(str, args), "-w", str(ws)])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def squeezed(text: str) -> str:
    """Text without whitespace (rich wraps long lines, even inside paths)."""
    return "".join(text.split())


def ledger(ws: Path) -> dict[str, list[dict[str, Any]]]:
    """Every ledger table's rows, in key order."""
    with Workspace.open(ws) as w:
        con = w.warehouse
        found = {}
        for name in TABLES:
            rows = con.to_pyarrow(con.table(name)).to_pylist()
            found[name] = sorted(rows, key=lambda r, n=name: tuple(str(r[k]) for k in KEYS[n]))
        return found
