"""Workspace files are the owner's only: files 0600, folders 0700 — even when the shell's umask
is the usual 022, and for a workspace made before the rule."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from segmentry.app.workspace import Workspace

FIXTURES = Path(__file__).parents[1] / "connectors" / "fixtures"


def _loose(folder: Path) -> list[str]:
    """Entries of ``folder`` (itself included) that group or others may access, with modes."""
    entries = [folder, *folder.rglob("*")]
    return [
        f"{p.relative_to(folder.parent)} {oct(stat.S_IMODE(p.lstat().st_mode))}"
        for p in entries
        if not p.is_symlink() and stat.S_IMODE(p.lstat().st_mode) & 0o077
    ]


def _cli(*args: str, cwd: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "segmentry", *args],
        cwd=cwd, check=True, capture_output=True, text=True, timeout=600,
        preexec_fn=lambda: os.umask(0o022),  # what a login shell usually has
    )


@pytest.mark.slow
def test_a_demo_workspace_and_everything_written_into_it_is_owner_only(tmp_path: Path) -> None:
    folder = tmp_path / "shop"
    _cli("demo", str(folder), "--customers", "150", cwd=tmp_path)
    _cli("-w", str(folder), "users", "add", "owner@example.com", "--password", "long enough pw",
         cwd=tmp_path)
    _cli("-w", str(folder), "run", cwd=tmp_path)
    _cli("-w", str(folder), "import", str(FIXTURES / "orders_export_bad.csv"), "--skip-bad-rows",
         "--save-source", cwd=tmp_path)

    written = {p.name for p in folder.rglob("*")}
    # The files that hold customers' data and password hashes are among those checked.
    assert {"warehouse.duckdb", "state.db"} <= written, written
    assert any(name.startswith("rejects-") for name in written), written
    assert _loose(folder) == []


def test_opening_an_older_world_readable_workspace_tightens_it(tmp_path: Path) -> None:
    folder = tmp_path / "old"
    Workspace.create(folder).close()
    (folder / "exports").mkdir()
    (folder / "exports" / "customers.csv").write_text("email\nhanako@example.jp\n")
    for p in [folder, *folder.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    assert _loose(folder) != []

    Workspace.open(folder).close()

    assert _loose(folder) == []
    assert (folder / "exports" / "customers.csv").read_text() == "email\nhanako@example.jp\n"


def test_a_link_to_a_file_outside_the_workspace_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "shared.txt"
    outside.write_text("not ours to change")
    outside.chmod(0o644)
    folder = tmp_path / "shop"
    Workspace.create(folder).close()
    (folder / "link").symlink_to(outside)

    Workspace.open(folder).close()

    assert stat.S_IMODE(outside.stat().st_mode) == 0o644
